"""Fold a batch of metric observations into one aggregation delta per bucket (pure).

Each observation updates every KPI component whose measure matches (metric + `where`), in
the bucket of the KPI's period that contains the observation's EVENT time, on the tenant's
fiscal calendar. Late events therefore land in (and restate) the period they belong to.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from kpi_common.calendar import Bucket
from kpi_common.observed import Observed, Scalar

from kpi_evaluator.aggregation import AggState
from kpi_evaluator.definitions import KpiDef, MetricMeasure, Strategy

BucketKey = tuple[str, str, str, str]  # tenant, kpi, component, period key
PeriodRef = tuple[str, str, str]  # tenant, kpi, period key


# a decoded `metric.observed` event, its times parsed once, by kpi_common.observed
Observation = Observed


class Placed(Protocol):
    """What placing an event in its bucket reads: a live observation or an archived row."""

    @property
    def id(self) -> str: ...
    @property
    def tenant_id(self) -> str: ...
    @property
    def time(self) -> datetime: ...
    @property
    def received_at(self) -> datetime: ...


class _Acc:
    """A mutable AggState while a batch is folded (the hot loop avoids new objects)."""

    __slots__ = ("count", "last_id", "last_time", "last_value", "max", "min", "total")

    def __init__(self, value: float, at: datetime, event_id: str) -> None:
        self.count, self.total, self.min, self.max = 1, value, value, value
        self.last_value, self.last_time, self.last_id = value, at, event_id

    def add(self, value: float, at: datetime, event_id: str) -> None:
        self.count += 1
        self.total += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        if (at, event_id) > (self.last_time, self.last_id):
            self.last_value, self.last_time, self.last_id = value, at, event_id

    def state(self) -> AggState:
        return AggState(
            self.count,
            self.total,
            self.min,
            self.max,
            self.last_value,
            self.last_time,
            self.last_id,
        )


@dataclass
class Folded:
    acc: dict[BucketKey, _Acc] = field(default_factory=dict)
    touched: dict[PeriodRef, Bucket] = field(default_factory=dict)
    seen: dict[tuple[str, str], datetime] = field(default_factory=dict)
    unplaceable: int = 0

    @property
    def deltas(self) -> dict[BucketKey, AggState]:
        return {k: a.state() for k, a in self.acc.items()}

    def add(self, key: BucketKey, value: float, at: datetime, event_id: str) -> None:
        current = self.acc.get(key)
        if current is None:
            self.acc[key] = _Acc(value, at, event_id)
        else:
            current.add(value, at, event_id)

    def saw(self, tenant: str, kpi: str, at: datetime) -> None:
        previous = self.seen.get((tenant, kpi))
        if previous is None or at > previous:
            self.seen[(tenant, kpi)] = at


def fold(
    observations: Sequence[Observation],
    strategies: Mapping[str, Strategy],
    into: Folded | None = None,
) -> Folded:
    """Fold into a new `Folded`, or into `into` (a recompute folds its chunks into one)."""
    out = Folded() if into is None else into
    for obs in observations:
        strategy = strategies.get(obs.tenant_id)
        if strategy is not None:
            _fold_one(out, obs, strategy)
    return out


def _fold_one(out: Folded, obs: Observation, strategy: Strategy) -> None:
    for kpi, component, measure in strategy.by_metric.get(obs.metric, ()):
        if not measure.matches(obs.dimensions):
            continue
        value = contribution(measure, obs.value, obs.dimensions)
        if value is not None:
            place(out, strategy, kpi, component, value, obs)


def contribution(measure: MetricMeasure, value: float, dims: Mapping[str, Scalar]) -> float | None:
    """What a matching event adds to a measure: 1 for a count, else its value or field."""
    return 1.0 if measure.aggregation == "count" else measure.value_of(value, dims)


def place(
    out: Folded, strategy: Strategy, kpi: KpiDef, component: str, value: float, ev: Placed
) -> None:
    """Add a matching event's value to the KPI's bucket of the period holding its time."""
    try:
        bucket = strategy.calendar.bucket(kpi.period_kind, ev.time)
    except (ValueError, OverflowError):  # a date the calendar cannot place (year 1)
        out.unplaceable += 1
        return
    out.add((ev.tenant_id, kpi.id, component, bucket.key), value, ev.time, ev.id)
    if kpi.cumulative and kpi.period_kind != "day":  # day totals give the recent trend
        day = strategy.calendar.bucket("day", ev.time)
        out.add((ev.tenant_id, kpi.id, "day", day.key), value, ev.time, ev.id)
    out.touched[(ev.tenant_id, kpi.id, bucket.key)] = bucket
    out.saw(ev.tenant_id, kpi.id, ev.received_at)


def dedup(observations: Sequence[Observation]) -> list[Observation]:
    """The first observation of each event in the batch, identified as in the archive:
    (tenant, metric, id, event time)."""
    seen: set[tuple[str, str, str, datetime]] = set()
    out: list[Observation] = []
    for obs in observations:
        key = (obs.tenant_id, obs.metric, obs.id, obs.time)
        if key not in seen:
            seen.add(key)
            out.append(obs)
    return out
