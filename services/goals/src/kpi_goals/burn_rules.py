"""The rules a burn-rate declaration must meet beyond its shape (docs/strategy.md,
"Burn-rate alerts"): a KPI's rules need a KPI whose value accrues through a named period
(a metric measure with `sum` or `count`, `increase` or `decrease`); every rule's short
window is shorter than its long one, which fits in the shortest period of its kind; a
rule's budget is declared or left by the KPI's at-risk band; no rule is declared twice."""

from collections.abc import Sequence

from kpi_goals.contract import days
from kpi_goals.document import BurnRate, Kpi, MetricMeasure, StrategyDocument
from kpi_goals.references import Path_, Problem

# the shortest period of each kind, in days: a long window must fit in it
SHORTEST = {"week": 7, "month": 28, "quarter": 89, "year": 365}


def problems(document: StrategyDocument) -> list[Problem]:
    out: list[Problem] = []
    for i, kpi in enumerate(document.kpis):
        if kpi.burn_rates:
            out += _kpi(("kpis", i, "burn_rates"), kpi, kpi.burn_rates)
    for i, route in enumerate(document.alerts.routes):
        if route.burn_rates:
            out += _rules(("alerts", "routes", i, "burn_rates"), route.burn_rates, 365, "a year")
    return out


def _kpi(path: Path_, kpi: Kpi, rules: Sequence[BurnRate]) -> list[Problem]:
    m = kpi.measure
    if not isinstance(m, MetricMeasure) or m.aggregation not in ("sum", "count"):
        what = m.aggregation if isinstance(m, MetricMeasure) else "not a metric measure"
        return [(path, f"needs a KPI that accrues (a metric with sum or count), not {what}")]
    if kpi.direction == "range":
        return [(path, "needs direction increase or decrease, not range")]
    period = kpi.period or "month"
    if not isinstance(period, str) or period not in SHORTEST:
        return [(path, "needs a week, month, quarter or year period")]
    out = _rules(path, rules, SHORTEST[period], f"the shortest {period}")
    if kpi.at_risk_below == 1:
        out += [
            ((*path, j, "budget"), "required: at_risk_below is 1, so its band leaves no budget")
            for j, rule in enumerate(rules)
            if rule.budget is None
        ]
    return out


def _rules(path: Path_, rules: Sequence[BurnRate], longest: int, name: str) -> list[Problem]:
    out: list[Problem] = []
    seen: set[tuple[int, int, float]] = set()
    for j, rule in enumerate(rules):
        long, short = days(rule.long), days(rule.short)
        if short >= long:
            out.append(((*path, j, "short"), f"must be shorter than long ({rule.long})"))
        if long > longest:
            out.append(((*path, j, "long"), f"must be at most {longest}d, {name}"))
        if rule.budget is not None and not 0 < float(rule.budget[:-1]) <= 100:
            out.append(((*path, j, "budget"), "must be more than 0% and at most 100%"))
        key = (long, short, rule.factor)
        if key in seen:
            out.append(((*path, j), "the same long, short and factor are declared twice"))
        seen.add(key)
    return out
