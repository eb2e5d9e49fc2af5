"""Data health (pure): what the data, not the definitions, says about a tenant's KPIs.

Judged at read time against the CURRENT strategy (docs/evaluator.md, "Data health"):
- `unmatched_metric`: a metric name that arrived and no KPI measures (a typo, a feed sending
  for a KPI not defined yet); with the nearest metric names the KPIs do use.
- `kpi_without_data`: a KPI with a measure has no actual in its current period.
- `stale_metric`: a metric a KPI measures arrived once but nothing for longer than the
  staleness window (`KPI_EVALUATOR_STALE_AFTER_S`).
Findings have the shape of goals' alignment findings, plus the figures behind them.
"""

import difflib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from kpi_evaluator.arrivals import Arrival
from kpi_evaluator.definitions import KpiDef, Strategy

Severity = Literal["error", "warning", "info"]
NEAREST = 3  # names offered for an unmatched metric
SIMILAR = 0.6  # difflib ratio below which a name is not offered


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    description: str


RULES = (
    Rule(
        "unmatched_metric",
        "warning",
        "A metric arrived that no KPI of the current strategy measures (a mistyped name, or "
        "a KPI not defined yet): its events count nowhere until a KPI uses the name.",
    ),
    Rule(
        "kpi_without_data",
        "warning",
        "A KPI with a measure has no actual in its current period: none of its events "
        "arrived, or none falls in the period or passes its filter.",
    ),
    Rule(
        "stale_metric",
        "warning",
        "A metric a KPI measures has arrived before but not within the staleness window "
        "(KPI_EVALUATOR_STALE_AFTER_S): its feed may have stopped.",
    ),
)
SEVERITY = {r.id: r.severity for r in RULES}


@dataclass(frozen=True)
class Finding:
    rule: str
    node_type: Literal["kpi", "metric"]
    node_id: str
    explanation: str
    suggested_fix: str
    metric: str | None = None
    events: int | None = None
    first_received_at: datetime | None = None
    last_received_at: datetime | None = None
    last_source_id: str | None = None
    nearest: list[str] = field(default_factory=list)
    kpis: list[str] = field(default_factory=list)

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.rule]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "severity": self.severity}


@dataclass(frozen=True)
class Inputs:
    """What data health reads: the strategy, what arrived per metric name, and the KPIs
    that have an actual in their current period."""

    strategy: Strategy
    arrivals: Mapping[str, Arrival]
    with_data: Collection[str]
    now: datetime
    stale_after: timedelta


def check(inputs: Inputs) -> list[Finding]:
    """Every finding, rule by rule, each rule's in name order."""
    return [*unmatched(inputs), *without_data(inputs), *stale(inputs)]


def nearest(metric: str, known: Collection[str]) -> list[str]:
    """The KPI metric names most like `metric` (difflib's ratio), best first."""
    return difflib.get_close_matches(metric, sorted(known), n=NEAREST, cutoff=SIMILAR)


def _figures(a: Arrival) -> dict[str, Any]:
    return {
        "metric": a.metric,
        "events": a.events,
        "first_received_at": a.first_received_at,
        "last_received_at": a.last_received_at,
        "last_source_id": a.last_source_id,
    }


def unmatched(inputs: Inputs) -> Iterator[Finding]:
    used = inputs.strategy.by_metric
    for name in sorted(set(inputs.arrivals) - set(used)):
        a = inputs.arrivals[name]
        close = nearest(name, used)
        like = f"; nearest KPI metric: {', '.join(close)}" if close else ""
        yield Finding(
            "unmatched_metric",
            "metric",
            name,
            f"Metric {name} arrived ({a.events} event(s), last at "
            f"{a.last_received_at:%Y-%m-%d %H:%M} UTC) and no KPI measures it{like}.",
            _unmatched_fix(name, close),
            nearest=close,
            **_figures(a),
        )


def _unmatched_fix(name: str, close: list[str]) -> str:
    later = f"or define a KPI measuring {name}: the events already received then count"
    if close:
        return f"If the sender meant {close[0]}, correct its metric name; {later}."
    return f"Measure it: {later}."


def _metrics(kpi: KpiDef) -> list[str]:
    return sorted({m.metric for m in kpi.components.values()})


def without_data(inputs: Inputs) -> Iterator[Finding]:
    for kpi in sorted(inputs.strategy.kpis.values(), key=lambda k: k.id):
        if kpi.kind == "none" or kpi.id in inputs.with_data:
            continue
        period = inputs.strategy.calendar.bucket(kpi.period_kind, inputs.now).key
        yield Finding(
            "kpi_without_data",
            "kpi",
            kpi.id,
            f"KPI {kpi.id} has no data in its period {period}: {_why_empty(kpi, inputs)}.",
            _empty_fix(kpi, inputs),
            kpis=[kpi.id],
        )


def _why_empty(kpi: KpiDef, inputs: Inputs) -> str:
    if kpi.formula is not None:
        return f"it is computed from {', '.join(kpi.inputs)}, which have none"
    metrics = _metrics(kpi)
    missing = [m for m in metrics if m not in inputs.arrivals]
    if missing:
        return f"metric {', '.join(missing)} never arrived"
    return (
        f"metric {', '.join(metrics)} arrived, but no event falls in the period"
        " or passes the KPI's filter"
    )


def _empty_fix(kpi: KpiDef, inputs: Inputs) -> str:
    if kpi.formula is not None:
        return f"Send data for {', '.join(kpi.inputs)}."
    missing = [m for m in _metrics(kpi) if m not in inputs.arrivals]
    if missing:
        return (
            f"Connect the feed that sends {', '.join(missing)}, and check the metric name it"
            " uses (an unmatched_metric finding names what arrived instead)."
        )
    return "Check the events' times and dimensions against the KPI's period and `where`."


def _span(window: timedelta) -> str:
    seconds = window.total_seconds()
    if seconds < 120:
        return f"{seconds:g} s"
    return f"{seconds / 60:g} min" if seconds < 7200 else f"{seconds / 3600:g} h"


def stale(inputs: Inputs) -> Iterator[Finding]:
    for name, uses in sorted(inputs.strategy.by_metric.items()):
        a = inputs.arrivals.get(name)
        if a is None or inputs.now - a.last_received_at <= inputs.stale_after:
            continue
        kpis = sorted({kpi.id for kpi, _, _ in uses})
        yield Finding(
            "stale_metric",
            "metric",
            name,
            f"Metric {name} (KPI {', '.join(kpis)}) last arrived at "
            f"{a.last_received_at:%Y-%m-%d %H:%M} UTC, more than {_span(inputs.stale_after)} ago.",
            "Check the feed that sends it: the sender, and its source's rejects"
            " (kpi alignment lists them per source).",
            kpis=kpis,
            **_figures(a),
        )


def report(found: list[Finding], inputs: Inputs) -> dict[str, Any]:
    """The answer of `GET /v1/data-health`."""
    counts = {s: sum(f.severity == s for f in found) for s in ("error", "warning", "info")}
    return {
        "checked_at": inputs.now,
        "stale_after_s": inputs.stale_after.total_seconds(),
        "findings": [f.as_dict() for f in found],
        "counts": counts,
        "rules": [asdict(r) for r in RULES],
    }
