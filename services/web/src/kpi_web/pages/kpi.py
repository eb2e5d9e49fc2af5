"""The KPI page: what the KPI is and why it matters (its "so that" chains, from goals), where
it stands now, its series as a chart and a table (with each period's revisions), its
breaches (with their acknowledgement, from the notifier) and its target history."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kpi_web.gather import KpiData
from kpi_web.models import Breach, ChainNode, FieldChange, KpiDoc, KpiHistory, Point
from kpi_web.pages import chart, pace
from kpi_web.status import Look, look

# the fields of a KPI definition that set its target (goals' history marks their changes)
TARGET_FIELDS = ("target", "targets", "baseline", "period", "direction", "at_risk_below")
MAX_POINTS = 24  # the chart and the table show the latest periods


@dataclass(frozen=True)
class Period:
    point: Point
    look: Look


@dataclass(frozen=True)
class BreachLine:
    breach: Breach
    look: Look


@dataclass(frozen=True)
class TargetChange:
    revision: int
    changed_at: str
    key_id: str | None
    reason: str | None
    changes: list[tuple[str, Any, Any]]  # (field, before, after)


@dataclass(frozen=True)
class KpiView:
    kpi: KpiDoc
    current: Period | None
    chains: list[list[ChainNode]]
    pace: pace.Pace | None  # the current period's
    chart: chart.Chart
    periods: list[Period]
    breaches: list[BreachLine]
    notifier_down: str | None
    targets: list[TargetChange]


def current_point(points: list[Point], now: datetime) -> Point | None:
    """The period that contains `now`, else the latest one that started."""
    started = [p for p in points if datetime.fromisoformat(p.period_start) <= now]
    return started[-1] if started else None


def build(data: KpiData) -> KpiView:
    points = data.series.points[-MAX_POINTS:]
    now_point = current_point(points, data.now)
    return KpiView(
        kpi=data.kpi,
        current=Period(now_point, look(now_point.status)) if now_point else None,
        chains=[chain[1:] for chain in data.chains.chains],
        pace=pace.build(now_point, data.now) if now_point else None,
        chart=chart.build(points),
        periods=[Period(p, look(p.status)) for p in reversed(points)],
        breaches=[BreachLine(b, look(b.status)) for b in data.breaches],
        notifier_down=data.notifier_down,
        targets=target_changes(data.history),
    )


def target_changes(history: KpiHistory) -> list[TargetChange]:
    """Each revision of the KPI that changed its target, newest first, with who and why."""
    return [
        TargetChange(e.revision, e.changed_at, e.key_id, e.reason, _changed(e.fields))
        for e in reversed(history.history)
        if e.target_changed
    ]


def _changed(fields: dict[str, FieldChange]) -> list[tuple[str, Any, Any]]:
    return [(n, fields[n].before, fields[n].after) for n in TARGET_FIELDS if n in fields]
