"""The review pack: one self-contained document for a review's unit and the span it looks
back on. The unit's scorecard; the KPIs off track or at risk with their "so that" chains and
charts; forecasts; breaches and acknowledgements since the review before; target changes
since then with who and why; alignment and data-health findings."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from kpi_web.models import (
    Breach,
    ChainNode,
    Finding,
    KpiChains,
    KpiLeaf,
    PerspectiveGroup,
    Review,
)
from kpi_web.packs import ATTENTION, KpiFile, PackData
from kpi_web.pages import chart
from kpi_web.pages.kpi import TargetChange, current_point, target_changes
from kpi_web.status import Look, look

CHART_PERIODS = 8  # each KPI needing attention is charted over its latest periods


@dataclass(frozen=True)
class KpiLine:
    leaf: KpiLeaf
    look: Look


@dataclass(frozen=True)
class Attention:
    leaf: KpiLeaf
    look: Look
    chains: list[list[ChainNode]]
    chart: chart.Chart
    periods: int


@dataclass(frozen=True)
class BreachLine:
    kpi: KpiLeaf
    breach: Breach
    look: Look


@dataclass(frozen=True)
class TargetLine:
    kpi: KpiLeaf
    change: TargetChange


@dataclass(frozen=True)
class PackView:
    review: Review
    title: str
    unit: str
    since: date
    due: date
    generated_at: datetime
    period: str | None
    score: float | None
    perspectives: list[PerspectiveGroup]
    kpis: list[KpiLine]
    attention: list[Attention]
    breaches: list[BreachLine]
    targets: list[TargetLine]
    alignment: list[Finding]
    data_health: list[Finding]
    missing: list[str]


def build(data: PackData) -> PackView:
    review, since = data.review, date.fromisoformat(data.review.since)
    unit = data.strategy.unit(review.unit) if review.unit else None
    card = data.scorecard
    return PackView(
        review=review,
        title=review.title or review.review_id,
        unit=(unit.name or unit.id) if unit else (review.unit or "the organisation"),
        since=since,
        due=date.fromisoformat(review.next_due),
        generated_at=data.now,
        period=card.period,
        score=card.score,
        perspectives=card.perspectives,
        kpis=[KpiLine(leaf, look(leaf.status)) for leaf in card.kpis],
        attention=[
            _attention(f, data.chains[f.leaf.id], data.now)
            for f in data.kpis
            if f.leaf.status in ATTENTION
        ],
        breaches=_breaches(data, since),
        targets=_targets(data.kpis, since),
        alignment=data.alignment,
        data_health=data.data_health,
        missing=data.missing,
    )


def _attention(f: KpiFile, chains: KpiChains, now: datetime) -> Attention:
    points = f.series.points
    upto = current_point(points, now)
    shown = points[: points.index(upto) + 1] if upto else points
    shown = shown[-CHART_PERIODS:]
    above = [chain[1:] for chain in chains.chains]
    return Attention(f.leaf, look(f.leaf.status), above, chart.build(shown), len(shown))


def _breaches(data: PackData, since: date) -> list[BreachLine]:
    """Breaches opened, acknowledged or resolved since the review before, and those still
    open; newest first."""
    leaves = {f.leaf.id: f.leaf for f in data.kpis}
    lines = [
        BreachLine(leaves[kpi_id], b, look(b.status))
        for kpi_id, b in data.breaches
        if b.resolved_at is None or any(_on_or_after(t, since) for t in _moments(b))
    ]
    return sorted(lines, key=lambda line: line.breach.opened_at, reverse=True)


def _targets(files: list[KpiFile], since: date) -> list[TargetLine]:
    lines = [
        TargetLine(f.leaf, change)
        for f in files
        for change in target_changes(f.history)
        if _on_or_after(change.changed_at, since)
    ]
    return sorted(lines, key=lambda line: line.change.changed_at, reverse=True)


def _moments(b: Breach) -> list[str]:
    return [t for t in (b.opened_at, b.acked_at, b.resolved_at) if t]


def _on_or_after(stamp: str, day: date) -> bool:
    moment = datetime.fromisoformat(stamp)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date() >= day
