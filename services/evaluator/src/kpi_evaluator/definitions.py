"""KPI definitions as the evaluator reads them: built from the typed, normalised contract
(`kpi_common.definitions`, `node.upserted` v2) that goals publishes.

The contract already holds every default and every resolved target, so this module adds
only what the evaluator derives for its own work: the measure's components by name, how
dimension values compare, and how a KPI's value moves through its period (`Pace`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from sys import intern
from typing import Any

from kpi_common import definitions as contract
from kpi_common.calendar import FiscalCalendar, calendar_of
from kpi_common.definitions import Aggregation, Definition, Direction, KpiTargets, TargetBand

CUMULATIVE = frozenset({Aggregation.SUM, Aggregation.COUNT})
# Equal parts of KPIs (a measure, a component map, targets) are one shared, immutable
# object: most KPIs of a tenant, and of tenants alike, share them. The caches are bounded:
# a part past them is built anew, never wrong.
SHARED = 8192


class Pace(StrEnum):
    """How a KPI's value to date moves as its period elapses (docs/evaluator.md, "Status")."""

    LEVEL = "level"  # avg, min, max, last, formula; a ratio of two levels or two cumulatives
    CUMULATIVE = "cumulative"  # a sum or count: grows from 0 through the period
    GROWING = "growing"  # a ratio whose numerator only is cumulative: grows like one
    SHRINKING = "shrinking"  # a ratio whose denominator only is cumulative: falls as 1/f


def _norm(value: Any) -> str:
    """Dimension values compare by meaning: `true`, True and "True" are the same."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value))
    text = str(value)
    return text.lower() if text.lower() in ("true", "false") else text


@dataclass(frozen=True, slots=True)
class MetricMeasure:
    metric: str
    aggregation: Aggregation
    field: str | None = None
    where: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, part: contract.MetricMeasureDef) -> "MetricMeasure":
        where = tuple(sorted((k, _norm(v)) for k, v in part.where.items()))
        return _measure(part.metric, part.aggregation, part.field, where)

    @property
    def cumulative(self) -> bool:
        return self.aggregation in CUMULATIVE

    def matches(self, dimensions: Mapping[str, Any]) -> bool:
        if not self.where:
            return True
        return all(k in dimensions and _norm(dimensions[k]) == v for k, v in self.where)

    def value_of(self, value: float, dimensions: Mapping[str, Any]) -> float | None:
        """The number this event contributes: the event value, or a numeric dimension."""
        if self.field is None:
            return value
        raw = dimensions.get(self.field)
        if isinstance(raw, bool) or raw is None:
            return None
        try:
            return float(raw)
        except (TypeError, ValueError):
            return None


@lru_cache(maxsize=SHARED)
def _measure(
    metric: str, aggregation: Aggregation, field: str | None, where: tuple[tuple[str, str], ...]
) -> MetricMeasure:
    return MetricMeasure(intern(metric), aggregation, field, where)


@lru_cache(maxsize=SHARED)
def _components(parts: tuple[tuple[str, MetricMeasure], ...]) -> Mapping[str, MetricMeasure]:
    return dict(parts)  # shared: never changed once built


@dataclass(frozen=True, slots=True)
class Targets:
    """A KPI's resolved targets as the evaluator reads them: the contract's `KpiTargets`
    without its pydantic model (some 600 bytes a KPI) and without the reasons it never
    reads. `periods` names the value of a period key; any other period has `default`; a
    `range` KPI has its `band` instead."""

    default: float | None
    periods: Mapping[str, float]
    band: TargetBand | None

    @classmethod
    def of(cls, spec: KpiTargets) -> "Targets":
        band = None if spec.band is None else (spec.band.low, spec.band.high)
        return _targets(spec.default, tuple(sorted(spec.periods.items())), band)

    def for_period(self, period_key: str) -> float | None:
        return self.periods.get(period_key, self.default)


@lru_cache(maxsize=SHARED)
def _targets(
    default: float | None, periods: tuple[tuple[str, float], ...], band: tuple[float, float] | None
) -> Targets:
    bounds = None if band is None else TargetBand(low=band[0], high=band[1])
    return Targets(default, dict(periods), bounds)


def _ids(values: list[str]) -> list[str]:
    return [intern(v) for v in values]


def _pace(kind: str, components: Mapping[str, MetricMeasure]) -> Pace:
    if kind == "metric":
        return Pace.CUMULATIVE if components["value"].cumulative else Pace.LEVEL
    if kind != "ratio":
        return Pace.LEVEL
    num, den = components["num"].cumulative, components["den"].cumulative
    if num == den:
        return Pace.LEVEL
    return Pace.GROWING if num else Pace.SHRINKING


@dataclass(frozen=True, slots=True)
class KpiDef:
    """One KPI of the contract with the evaluator's derived parts, computed once. It keeps
    the contract's values it reads, not the contract model itself: the evaluator holds every
    tenant's KPIs in memory, and a parsed pydantic model (with its nested measure and field
    sets) costs several KiB per KPI (docs/benchmarks.md, "Cost curves")."""

    id: str
    title: str
    components: Mapping[str, MetricMeasure]
    kind: str  # metric, ratio, formula or none
    pace: Pace
    period_kind: str
    cumulative: bool  # a sum or count: grows through the period; everything else is a level
    formula: str | None
    inputs: list[str]  # the KPI ids a formula uses, in order (listed by goals); none otherwise
    rolling_days: int | None
    direction: Direction
    targets: Targets
    at_risk_below: float
    weight: float
    so_that: list[str]
    unit: str | None
    owner: str | None
    perspective: str | None
    unit_of_measure: str | None
    burn_rates: tuple[contract.BurnRateDef, ...]  # its own burn-rate rules (docs/strategy.md)

    @classmethod
    def of(cls, spec: contract.KpiDef) -> "KpiDef":
        parts = spec.measure.parts().items()
        components = _components(tuple((name, MetricMeasure.of(p)) for name, p in parts))
        kind = spec.measure.kind
        pace = _pace(kind, components)
        formula = spec.measure.formula if kind == "formula" else None
        return cls(  # identifiers interned: tenants and KPIs repeat them
            id=intern(spec.id),
            title=spec.title,
            components=components,
            kind=kind,
            pace=pace,
            period_kind=spec.period.value,
            cumulative=pace is Pace.CUMULATIVE,
            formula=formula,
            inputs=_ids(spec.measure.inputs) if formula is not None else [],
            rolling_days=spec.rolling_days,
            direction=spec.direction,
            targets=Targets.of(spec.targets),
            at_risk_below=spec.at_risk_below,
            weight=spec.weight,
            so_that=_ids(spec.so_that),
            unit=None if spec.unit is None else intern(spec.unit),
            owner=None if spec.owner is None else intern(spec.owner),
            perspective=None if spec.perspective is None else spec.perspective.value,
            unit_of_measure=None if spec.unit_of_measure is None else intern(spec.unit_of_measure),
            burn_rates=tuple(spec.burn_rates),
        )


Nodes = Mapping[tuple[str, str], Definition]


@dataclass(frozen=True)
class Strategy:
    """One tenant's strategy as the evaluator needs it: its KPIs as `KpiDef`s, and its other
    nodes (organization, units, people, goals, ...) as the contract has them."""

    tenant_id: str
    nodes: Nodes  # every node but the KPIs (those are `kpis`)
    kpis: Mapping[str, KpiDef]
    calendar: FiscalCalendar
    by_metric: Mapping[str, list[tuple[KpiDef, str, MetricMeasure]]]
    burn_routes: tuple[contract.AlertRouteDef, ...] = ()  # routes that declare burn rates

    @classmethod
    def build(cls, tenant_id: str, nodes: Nodes) -> "Strategy":
        org = nodes.get(("organization", "organization"))
        kpis = {d.id: KpiDef.of(d) for d in nodes.values() if isinstance(d, contract.KpiDef)}
        by_metric: dict[str, list[tuple[KpiDef, str, MetricMeasure]]] = {}
        for kpi in kpis.values():
            for component, measure in kpi.components.items():
                by_metric.setdefault(measure.metric, []).append((kpi, component, measure))
        organization = org if isinstance(org, contract.OrganizationDef) else None
        others = {k: d for k, d in nodes.items() if not isinstance(d, contract.KpiDef)}
        routes = tuple(
            d for d in others.values() if isinstance(d, contract.AlertRouteDef) and d.burn_rates
        )
        return cls(tenant_id, others, kpis, calendar_of(organization), by_metric, routes)

    def node(self, node_type: str, node_id: str) -> Definition | None:
        return self.nodes.get((node_type, node_id))
