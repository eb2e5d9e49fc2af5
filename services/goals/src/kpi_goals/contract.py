"""The strategy contract goals publishes: each node of a validated document, normalised
into its typed definition (kpi_common.definitions, `node.upserted` v2).

This is the one home of the document's defaults and target arithmetic:
- `supports`/`so_that` become lists; `period` a kind, plus `rolling_days` for a rolling
  window (kind `day`); `direction` defaults to `increase`, `at_risk_below` to 0.9,
  `weight` to 1, a measure's `where` to `{}`.
- `target: 50` is the default of every period; `{increase_by: 20%}` / `{decrease_by: 10%}`
  move the baseline by that share of it, a plain number by that amount; `{min, max}` is
  the band of a `range` KPI; each `targets` entry names the value of one period key and
  wins over `target` there.
- A formula lists the KPI ids it uses.
- A burn-rate rule's windows become days (`2w` -> 14) and its `budget: 10%` the share 0.1.
"""

from collections.abc import Callable
from typing import Any

from kpi_common.definitions import (
    AlertChannelDef,
    AlertRouteDef,
    BurnRateDef,
    Definition,
    InhibitRuleDef,
    KpiDef,
    KpiTargets,
    MeasureDef,
    MetricMeasureDef,
    RouteMatchDef,
    Severity,
    TargetBand,
    parse_definition,
)
from kpi_common.formula import references

from kpi_goals import document as doc

AT_RISK_BELOW = 0.9
WEIGHT = 1.0


def normalise(node_type: str, node_id: str, definition: dict[str, Any]) -> Definition:
    """The typed definition of one node as stored (a validated document entry)."""
    build = _BUILDERS.get(node_type)
    if build is not None:
        return build(node_id, definition)
    return parse_definition({"node_type": node_type, **definition})


def _kpi(node_id: str, definition: dict[str, Any]) -> KpiDef:
    kpi = doc.Kpi.model_validate(definition)
    period = kpi.period or "month"
    rolling = period.rolling_days if isinstance(period, doc.RollingPeriod) else None
    return KpiDef(
        id=kpi.id,
        title=kpi.title,
        unit=kpi.unit,
        owner=kpi.owner,
        so_that=doc.as_list(kpi.so_that),
        perspective=kpi.perspective,
        description=kpi.description,
        measure=measure(kpi.measure),
        period="day" if rolling else period,
        rolling_days=rolling,
        direction=kpi.direction,
        unit_of_measure=kpi.unit_of_measure,
        baseline=kpi.baseline,
        targets=targets(kpi),
        at_risk_below=AT_RISK_BELOW if kpi.at_risk_below is None else kpi.at_risk_below,
        weight=WEIGHT if kpi.weight is None else kpi.weight,
        contributes_to=kpi.contributes_to,
        due=kpi.due,
        burn_rates=burn_rates(kpi.burn_rates),
    )


def _part(m: doc.MetricMeasure) -> MetricMeasureDef:
    return MetricMeasureDef(
        metric=m.metric,
        aggregation=m.aggregation,
        field=None if m.field == "value" else m.field,
        where=dict(m.where or {}),
    )


def measure(m: doc.MetricMeasure | doc.RatioMeasure | doc.FormulaMeasure | None) -> MeasureDef:
    if isinstance(m, doc.MetricMeasure):
        return MeasureDef(kind="metric", metric=_part(m))
    if isinstance(m, doc.RatioMeasure):
        num, den = _part(m.ratio.numerator), _part(m.ratio.denominator)
        return MeasureDef(kind="ratio", numerator=num, denominator=den)
    if isinstance(m, doc.FormulaMeasure):
        return MeasureDef(kind="formula", formula=m.formula, inputs=references(m.formula))
    return MeasureDef(kind="none")


def _moved(baseline: float, by: str | float, sign: float) -> float:
    amount = baseline * float(by[:-1]) / 100 if isinstance(by, str) else by
    return baseline + sign * amount


def default_target(kpi: doc.Kpi) -> float | None:
    """The target of every period the per-period list does not name."""
    t = kpi.target
    if isinstance(t, float | int):
        return float(t)
    if isinstance(t, doc.RelativeTarget) and kpi.baseline is not None:
        if t.increase_by is not None:
            return _moved(kpi.baseline, t.increase_by, 1.0)
        if t.decrease_by is not None:
            return _moved(kpi.baseline, t.decrease_by, -1.0)
    return None


def single_target(definition: dict[str, Any]) -> float | None:
    """The target of a stored KPI definition as one number, where it has one."""
    return default_target(doc.Kpi.model_validate(definition))


def targets(kpi: doc.Kpi) -> KpiTargets:
    band = kpi.target if isinstance(kpi.target, doc.RangeTarget) else None
    entries = kpi.targets or []
    return KpiTargets(
        default=default_target(kpi),
        periods={e.period: float(e.value) for e in entries},
        reasons={e.period: e.reason for e in entries if e.reason},
        band=None if band is None else TargetBand(low=band.min, high=band.max),
    )


def _channel(node_id: str, definition: dict[str, Any]) -> AlertChannelDef:
    kinds = [k for k in ("slack", "email", "webhook") if definition.get(k) is not None]
    kind = kinds[0] if kinds else "email"
    return AlertChannelDef.model_validate({"id": node_id, "kind": kind, **definition})


def _route(node_id: str, definition: dict[str, Any]) -> AlertRouteDef:
    route = doc.Route.model_validate(definition)
    return AlertRouteDef(
        id=node_id,
        match=_match(route.match),
        notify=list(route.notify),
        escalate_after=route.escalate_after,
        mode=route.mode,
        burn_rates=burn_rates(route.burn_rates),
        group_wait=route.group_wait,
    )


def _match(match: doc.RouteMatch | None) -> RouteMatchDef:
    match = match or doc.RouteMatch()
    return RouteMatchDef(
        unit=doc.as_list(match.unit),
        kpi=doc.as_list(match.kpi),
        perspective=_listed(match.perspective),
        severity=_listed(match.severity),
    )


def _inhibit(node_id: str, definition: dict[str, Any]) -> InhibitRuleDef:
    implicit = bool(definition.get("implicit"))
    rule = doc.InhibitRule.model_validate({k: v for k, v in definition.items() if k != "implicit"})
    return InhibitRuleDef(
        id=node_id,
        source=_match(rule.source),
        target=_match(rule.target),
        equal=list(rule.equal),
        implicit=implicit,
    )


def days(window: str) -> int:
    """A burn-rate window (`7d`, `2w`) in days."""
    return int(window[:-1]) * (7 if window.endswith("w") else 1)


def burn_rates(rules: list[doc.BurnRate] | None) -> list[BurnRateDef]:
    """`budget: 10%` becomes the share 0.1; windows become days."""
    return [
        BurnRateDef(
            long_days=days(r.long),
            short_days=days(r.short),
            factor=r.factor,
            budget=None if r.budget is None else float(r.budget[:-1]) / 100,
            severity=Severity(r.severity),
            mode=r.mode,
        )
        for r in rules or []
    ]


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


_BUILDERS: dict[str, Callable[[str, dict[str, Any]], Definition]] = {
    "kpi": _kpi,
    "alert_channel": _channel,
    "alert_route": _route,
    "alert_inhibit": _inhibit,
}
