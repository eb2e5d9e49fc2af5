"""A KPI's actual value in a period from the stored bucket states (pure).

Metric KPIs read their one component; ratios divide numerator by denominator (no value when
the denominator is missing or zero); formulas combine the actuals of other KPIs in the
bucket of their own period that contains the formula period's start. Rolling KPIs merge
the day buckets of the last N days.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache

from kpi_common.calendar import Bucket
from kpi_common.formula import Formula, FormulaError, parse

from kpi_evaluator.aggregation import AggState, merge_all
from kpi_evaluator.definitions import KpiDef, Strategy
from kpi_evaluator.folding import BucketKey
from kpi_evaluator.formula import evaluate
from kpi_evaluator.status import Recent

MAX_DEPTH = 8


def window(strategy: Strategy, kpi: KpiDef, bucket: Bucket) -> Bucket:
    """The period a status row covers: the bucket, or for rolling KPIs the N days to it."""
    if not kpi.rolling_days:
        return bucket
    first = strategy.calendar.bucket("day", bucket.start - timedelta(days=kpi.rolling_days - 1))
    return Bucket(bucket.key, first.start, bucket.end)


def bucket_keys(strategy: Strategy, kpi: KpiDef, bucket: Bucket) -> list[str]:
    """The stored bucket keys a KPI's value for `bucket` is made of."""
    if not kpi.rolling_days:
        return [bucket.key]
    day = strategy.calendar.bucket("day", bucket.start)
    keys = []
    for _ in range(kpi.rolling_days):
        keys.append(day.key)
        day = strategy.calendar.previous("day", day)
    return keys


def needed(strategy: Strategy, kpi: KpiDef, bucket: Bucket, depth: int = 0) -> set[tuple[str, str]]:
    """(kpi id, bucket key) pairs whose states the actual needs."""
    if kpi.formula is None:
        return {(kpi.id, key) for key in bucket_keys(strategy, kpi, bucket)}
    out: set[tuple[str, str]] = set()
    if depth >= MAX_DEPTH:
        return out
    for ref in kpi.inputs:
        inner = strategy.kpis.get(ref)
        if inner is not None:
            inner_bucket = strategy.calendar.bucket(inner.period_kind, bucket.start)
            out |= needed(strategy, inner, inner_bucket, depth + 1)
    return out


@lru_cache(maxsize=4096)
def _program(formula: str) -> Formula:
    """A formula parsed once per text (the tick evaluates every formula KPI every time)."""
    return parse(formula)


def _component(
    strategy: Strategy,
    kpi: KpiDef,
    bucket: Bucket,
    component: str,
    states: Mapping[BucketKey, AggState],
) -> float | None:
    keys = bucket_keys(strategy, kpi, bucket)
    found = [
        states[k] for key in keys if (k := (strategy.tenant_id, kpi.id, component, key)) in states
    ]
    merged = merge_all(found)
    return None if merged is None else merged.value(kpi.components[component].aggregation)


def actual(
    strategy: Strategy,
    kpi: KpiDef,
    bucket: Bucket,
    states: Mapping[BucketKey, AggState],
    depth: int = 0,
) -> float | None:
    if kpi.kind == "metric":
        return _component(strategy, kpi, bucket, "value", states)
    if kpi.kind == "none":  # no measure: nothing to compute
        return None
    if kpi.kind == "ratio":
        num = _component(strategy, kpi, bucket, "num", states)
        den = _component(strategy, kpi, bucket, "den", states)
        return None if num is None or not den else num / den
    if depth >= MAX_DEPTH:
        return None
    values: dict[str, float | None] = {}
    for ref in kpi.inputs:
        inner = strategy.kpis.get(ref)
        if inner is not None:
            inner_bucket = strategy.calendar.bucket(inner.period_kind, bucket.start)
            values[ref] = actual(strategy, inner, inner_bucket, states, depth + 1)
    try:
        return evaluate(_program(kpi.formula or ""), values)
    except FormulaError:
        return None


def dependents(strategy: Strategy, kpi_ids: set[str]) -> list[KpiDef]:
    """Formula KPIs that use any of these KPIs, directly or through other formulas."""
    out: dict[str, KpiDef] = {}
    frontier = set(kpi_ids)
    for _ in range(MAX_DEPTH):
        found = {
            k.id: k
            for k in strategy.kpis.values()
            if k.formula is not None and k.id not in out and frontier & set(k.inputs)
        }
        if not found:
            break
        out.update(found)
        frontier = set(found)
    return list(out.values())


def orphans(
    strategy: Strategy, rows: list[tuple[str, str, datetime, datetime]]
) -> list[tuple[str, str]]:
    """Status rows that no longer match the strategy: their KPI is gone, or their period key
    has other bounds on the current calendar / period definition (a changed fiscal year
    start, time zone or KPI period)."""
    out = []
    for kpi_id, key, start, end in rows:
        kpi = strategy.kpis.get(kpi_id)
        if kpi is None or _bounds(strategy, kpi, key) != (start, end):
            out.append((kpi_id, key))
    return out


def _bounds(strategy: Strategy, kpi: KpiDef, key: str) -> tuple[datetime, datetime] | None:
    try:
        kind, bucket = strategy.calendar.parse(key)
    except ValueError:
        return None
    if kind != kpi.period_kind:
        return None
    span = window(strategy, kpi, bucket)
    return span.start, span.end


RECENT_DAYS = 7


def recent_days(strategy: Strategy, kpi: KpiDef, bucket: Bucket, now: datetime) -> list[Bucket]:
    """The local days of the last week up to `now`, inside an open period of a cumulative
    KPI (none otherwise): where its recent trend is read."""
    if not kpi.cumulative or kpi.period_kind == "day" or not bucket.start <= now < bucket.end:
        return []
    day = strategy.calendar.bucket("day", now)
    out = [day]
    while len(out) < RECENT_DAYS and day.start > bucket.start:
        day = strategy.calendar.previous("day", day)
        out.append(day)
    return out


def recent(
    strategy: Strategy,
    kpi: KpiDef,
    days: list[Bucket],
    now: datetime,
    states: Mapping[BucketKey, AggState],
) -> Recent | None:
    if not days:
        return None
    found = [s for d in days if (s := states.get((strategy.tenant_id, kpi.id, "day", d.key)))]
    total = sum(s.total if kpi.components["value"].aggregation == "sum" else s.count for s in found)
    return Recent(total, (now - days[-1].start).total_seconds() / 86_400)
