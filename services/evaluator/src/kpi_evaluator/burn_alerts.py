"""Burn-rate alerts of one KPI period, inside the evaluation (rules in
kpi_evaluator.burn_rates): which rules apply to a KPI, the day totals they read, the new
alert states and the `kpi.burn_rate.fired` / `.resolved` events."""

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from kpi_common.calendar import Bucket
from kpi_common.definitions import Direction, RouteMatchDef, UnitDef
from kpi_common.events import Envelope

from kpi_evaluator.aggregation import AggState
from kpi_evaluator.burn_events import Period, burn_event
from kpi_evaluator.burn_rates import BurnState, Judging, Reading, Rule, read, step, window_start
from kpi_evaluator.definitions import KpiDef, Strategy
from kpi_evaluator.folding import BucketKey

UNKNOWN = frozenset({"no_data", "stale"})


def eligible(kpi: KpiDef) -> bool:
    """A KPI that accrues over a named period, with a direction (docs/strategy.md)."""
    return kpi.cumulative and kpi.period_kind != "day" and kpi.direction != Direction.RANGE


def rules_for(strategy: Strategy, kpi: KpiDef) -> list[Rule]:
    """The KPI's own rules, then those of every alert route whose match selects it."""
    if not (kpi.burn_rates or strategy.burn_routes) or not eligible(kpi):
        return []
    out = [Rule(r) for r in kpi.burn_rates]
    for route in strategy.burn_routes:
        wanted = [r for r in route.burn_rates if _selects(strategy, route.match, kpi, r.severity)]
        out += [Rule(r, route.id) for r in wanted]
    return out


def _ancestors(strategy: Strategy, unit: str | None) -> set[str]:
    out: set[str] = set()
    while unit is not None and unit not in out:
        out.add(unit)
        node = strategy.node("unit", unit)
        unit = node.parent if isinstance(node, UnitDef) else None
    return out


def _selects(strategy: Strategy, match: RouteMatchDef, kpi: KpiDef, severity: str) -> bool:
    if match.unit and not set(match.unit) & _ancestors(strategy, kpi.unit):
        return False
    checks = ((match.kpi, kpi.id), (match.perspective, kpi.perspective), (match.severity, severity))
    return all(not wanted or value in wanted for wanted, value in checks)


def days_needed(strategy: Strategy, kpi: KpiDef, period: Bucket, now: datetime) -> list[Bucket]:
    """The local days the KPI's longest burn-rate window reads (none when it has no rule or
    the period is not open)."""
    rules = rules_for(strategy, kpi)
    if not rules or not period.start <= now < period.end:
        return []
    since = window_start(period, now, max(r.spec.long_days for r in rules))
    day, out = strategy.calendar.bucket("day", now), []
    while day.end > since:
        out.append(day)
        day = strategy.calendar.previous("day", day)
    return out


def _totals(
    strategy: Strategy, kpi: KpiDef, days: list[Bucket], states: Mapping[BucketKey, AggState]
) -> dict[str, float]:
    if not days:
        return {}
    summed = kpi.components["value"].aggregation == "sum"
    out = {}
    for d in days:
        s = states.get((strategy.tenant_id, kpi.id, "day", d.key))
        if s is not None:
            out[d.key] = s.total if summed else float(s.count)
    return out


def alerts(
    strategy: Strategy,
    period: Period,
    old: Mapping[str, BurnState],
    states: Mapping[BucketKey, AggState],
    now: datetime,
) -> tuple[dict[str, BurnState], list[Envelope]]:
    """The period's new alert states (by rule key) and the transitions they cause. An
    unknown status (no data, stale) changes nothing; an open alert whose rule is gone
    resolves."""
    kpi, span = period.kpi, period.span
    rules = rules_for(strategy, kpi)
    if period.ev.status in UNKNOWN or not (rules or old):
        return dict(old), []
    totals = _totals(strategy, kpi, days_needed(strategy, kpi, span, now), states)
    out: dict[str, BurnState] = {}
    events: list[Envelope] = []
    for rule in rules:
        before = old.get(rule.key, BurnState())
        out[rule.key], change = _step(strategy, period, rule, before, totals, now)
        events += change
    gone = [(s, s.rule) for key, s in old.items() if key not in out and s.alert_id and s.rule]
    events += [
        burn_event(strategy, period, rule, None, s, now, "resolved", "rule_removed")
        for s, rule in gone
    ]
    return out, events


def _step(
    strategy: Strategy,
    period: Period,
    rule: Rule,
    before: BurnState,
    totals: Mapping[str, float],
    now: datetime,
) -> tuple[BurnState, list[Envelope]]:
    reading = _reading(strategy, period, rule, totals, now)
    ref = (strategy.tenant_id, period.kpi.id, period.span.key, rule.key)
    state, change = step(before, reading, rule.spec.factor, now, ref)
    state = replace(state, rule=rule) if state.alert_id else state
    if change is None:
        return state, []
    shown = state if change == "fired" else before
    why = "recovered" if reading is not None else "period_ended"
    return state, [burn_event(strategy, period, rule, reading, shown, now, change, why)]


def _reading(
    strategy: Strategy, period: Period, rule: Rule, totals: Mapping[str, float], now: datetime
) -> Reading | None:
    target = period.ev.target
    if target is None:
        return None
    kpi = Judging(period.kpi.direction, target, period.kpi.at_risk_below)
    return read(rule.spec, kpi, totals, strategy.calendar, period.span, now)
