"""Which KPIs a strategy change affects, and what a recompute folds and re-evaluates (pure).

A KPI's actuals depend on its "actuals signature": its measure components (metric, `where`,
`field`, aggregation; a ratio's two parts), its formula, its period or rolling window, and the
tenant's fiscal calendar. Targets, titles, owners and links are not part of it: they change
the evaluation, which the next tick redoes, never the folded buckets.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from kpi_common.calendar import Bucket

from kpi_evaluator.actuals import orphans
from kpi_evaluator.definitions import KpiDef, MetricMeasure, Strategy
from kpi_evaluator.evaluation import Ref
from kpi_evaluator.folding import Folded, PeriodRef, contribution, place

NEW = "new_kpi"
DEFINITION = "definition_changed"
CALENDAR = "calendar_changed"
REQUESTED = "requested"


def signature(kpi: KpiDef) -> tuple[Any, ...]:
    components: list[tuple[str, MetricMeasure]] = sorted(
        kpi.components.items(), key=lambda kv: kv[0]
    )
    return (tuple(components), kpi.formula, kpi.period_kind, kpi.rolling_days)


def computed(kpi: KpiDef) -> bool:
    """Whether the KPI has actuals at all (a KPI without a measure has none)."""
    return kpi.kind != "none"


def affected(before: Strategy, after: Strategy) -> dict[str, str]:
    """The KPIs of `after` whose actuals `before` computed otherwise, with the reason."""
    calendar_moved = before.calendar.identity != after.calendar.identity
    out: dict[str, str] = {}
    for kpi_id, kpi in after.kpis.items():
        old = before.kpis.get(kpi_id)
        if not computed(kpi):
            continue
        if old is None:
            out[kpi_id] = NEW
        elif signature(old) != signature(kpi):
            out[kpi_id] = DEFINITION
        elif calendar_moved:
            out[kpi_id] = CALENDAR
    return out


def reason(found: Mapping[str, str]) -> str:
    return ",".join(sorted(set(found.values())))


def restrict(strategy: Strategy, kpi_ids: Iterable[str]) -> Strategy:
    """The strategy with only those KPIs' measures matched (what a recompute folds)."""
    keep = set(kpi_ids)
    by_metric = {
        metric: kept
        for metric, entries in strategy.by_metric.items()
        if (kept := [e for e in entries if e[0].id in keep])
    }
    return replace(strategy, by_metric=by_metric)


def touched_refs(strategy: Strategy, touched: Mapping[PeriodRef, Bucket]) -> list[Ref]:
    return [
        (strategy.kpis[kpi_id], bucket)
        for (_, kpi_id, _), bucket in touched.items()
        if kpi_id in strategy.kpis
    ]


def status_refs(
    strategy: Strategy, kpi_ids: set[str], rows: list[tuple[str, str, datetime, datetime]]
) -> tuple[list[Ref], list[tuple[str, str]]]:
    """The stored status rows of those KPIs: the ones still valid to re-evaluate (their
    actual may now be none), and the orphans to delete (bounds of an older definition)."""
    mine = [r for r in rows if r[0] in kpi_ids]
    stale = orphans(strategy, mine)
    gone = set(stale)
    refs: list[Ref] = []
    for kpi_id, key, _, _ in mine:
        if (kpi_id, key) not in gone:
            refs.append((strategy.kpis[kpi_id], strategy.calendar.parse(key)[1]))
    return refs, stale


def formula_refs(strategy: Strategy, formula: KpiDef, input_keys: Sequence[str]) -> list[Ref]:
    """A formula KPI's periods: those containing the starts of its inputs' stored periods."""
    out: dict[str, Ref] = {}
    for key in input_keys:
        try:
            _, bucket = strategy.calendar.parse(key)
        except ValueError:
            continue
        own = strategy.calendar.bucket(formula.period_kind, bucket.start)
        out.setdefault(own.key, (formula, own))
    return list(out.values())


# (event id, metric, value, dimensions as JSON text, event time, received at)
ArchivedRow = tuple[str, str, float, str, datetime, datetime]
Plan = list[tuple[KpiDef, str, MetricMeasure, Mapping[str, Any]]]
MAX_PLANS = 100_000


class _Event:
    """One archived row as `place` reads it (reused: `place` keeps no reference)."""

    __slots__ = ("id", "received_at", "tenant_id", "time")

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.id = ""
        self.time = self.received_at = datetime.min


class ArchiveFolder:
    """Folds a tenant's archived rows like `folding.fold` folds live events, deciding which
    measures match (`where`) once per distinct metric and dimensions text: history repeats
    a few dimension sets millions of times."""

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy
        self.folded = Folded()
        self._plans: dict[tuple[str, str], Plan] = {}
        self._event = _Event(strategy.tenant_id)

    def fold(self, rows: Iterable[Sequence[Any]]) -> None:
        out, strategy, ev = self.folded, self.strategy, self._event
        for event_id, metric, value, dims_text, at, received_at in rows:
            plan = self._plans.get((metric, dims_text))
            if plan is None:
                plan = self._plan(metric, dims_text)
            ev.id, ev.time, ev.received_at = event_id, at, received_at
            for kpi, component, measure, dims in plan:
                amount = contribution(measure, value, dims)
                if amount is not None:
                    place(out, strategy, kpi, component, amount, ev)

    def _plan(self, metric: str, dims_text: str) -> Plan:
        dims = orjson.loads(dims_text)
        plan = [
            (kpi, component, measure, dims)
            for kpi, component, measure in self.strategy.by_metric.get(metric, ())
            if measure.matches(dims)
        ]
        if len(self._plans) >= MAX_PLANS:
            self._plans.clear()
        self._plans[(metric, dims_text)] = plan
        return plan
