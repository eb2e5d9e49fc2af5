"""KPI definitions as the evaluator reads them from the strategy nodes of `goals.changes`.

Definitions arrive as written in the strategy document (defaults not filled in); this
module applies the documented defaults and gives the rest of the domain typed values.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kpi_common.calendar import PERIOD_KINDS, FiscalCalendar

Scalar = str | int | float | bool
CUMULATIVE = frozenset({"sum", "count"})
AGGREGATIONS = frozenset({"sum", "count", "avg", "min", "max", "last"})


def _norm(value: Any) -> str:
    """Dimension values compare by meaning: `true`, True and "True" are the same."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value))
    text = str(value)
    return text.lower() if text.lower() in ("true", "false") else text


@dataclass(frozen=True)
class MetricMeasure:
    metric: str
    aggregation: str
    field: str | None = None
    where: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> "MetricMeasure":
        where = tuple(sorted((k, _norm(v)) for k, v in (raw.get("where") or {}).items()))
        return cls(str(raw["metric"]), str(raw.get("aggregation", "sum")), raw.get("field"), where)

    def matches(self, dimensions: Mapping[str, Any]) -> bool:
        if not self.where:
            return True
        return all(k in dimensions and _norm(dimensions[k]) == v for k, v in self.where)

    def value_of(self, value: float, dimensions: Mapping[str, Any]) -> float | None:
        """The number this event contributes: the event value, or a numeric dimension."""
        if self.field in (None, "value"):
            return value
        raw = dimensions.get(self.field or "")
        if isinstance(raw, bool) or raw is None:
            return None
        try:
            return float(raw)
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class KpiDef:
    id: str
    title: str
    definition: Mapping[str, Any]
    components: Mapping[str, MetricMeasure] = field(default_factory=dict)
    formula: str | None = None
    period_kind: str = "month"
    rolling_days: int | None = None

    @classmethod
    def parse(cls, kpi_id: str, d: Mapping[str, Any]) -> "KpiDef":
        measure = d.get("measure") or {}
        components: dict[str, MetricMeasure] = {}
        if "metric" in measure:
            components["value"] = MetricMeasure.parse(measure)
        elif "ratio" in measure:
            components["num"] = MetricMeasure.parse(measure["ratio"]["numerator"])
            components["den"] = MetricMeasure.parse(measure["ratio"]["denominator"])
        period = d.get("period", "month")
        rolling = int(period["rolling_days"]) if isinstance(period, dict) else None
        kind = "day" if rolling else str(period)
        title = str(d.get("title", kpi_id))
        return cls(kpi_id, title, d, components, measure.get("formula"), kind, rolling)

    @property
    def kind(self) -> str:
        if self.formula is not None:
            return "formula"
        if "num" in self.components:
            return "ratio"
        return "metric" if "value" in self.components else "none"

    @cached_property  # read for every matching event
    def cumulative(self) -> bool:
        """Sums and counts grow through the period; everything else is a level."""
        return self.kind == "metric" and self.components["value"].aggregation in CUMULATIVE

    @property
    def direction(self) -> str:
        return str(self.definition.get("direction", "increase"))

    @property
    def at_risk_below(self) -> float:
        return float(self.definition.get("at_risk_below") or 0.9)

    @property
    def weight(self) -> float:
        w = self.definition.get("weight")
        return 1.0 if w is None else float(w)

    @property
    def so_that(self) -> list[str]:
        raw = self.definition.get("so_that")
        if raw is None:
            return []
        return [raw] if isinstance(raw, str) else [str(x) for x in raw]

    def text(self, key: str) -> str | None:
        value = self.definition.get(key)
        return None if value is None else str(value)


def _calendar(org: Mapping[str, Any]) -> FiscalCalendar:
    """The organisation's calendar; UTC with a January year if it cannot be read (goals
    validates documents, so this only guards the consumer against a poison definition)."""
    try:
        return FiscalCalendar(
            str(org.get("fiscal_year_start", "01-01")), str(org.get("timezone", "UTC"))
        )
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return FiscalCalendar()


def _parse_kpi(kpi_id: str, definition: Mapping[str, Any]) -> KpiDef | None:
    """A KPI the evaluator can use, or None (it is then ignored, never a poison batch)."""
    try:
        kpi = KpiDef.parse(kpi_id, definition)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    known = all(m.aggregation in AGGREGATIONS for m in kpi.components.values())
    return kpi if known and kpi.period_kind in PERIOD_KINDS else None


@dataclass(frozen=True)
class Strategy:
    """One tenant's strategy as the evaluator needs it."""

    tenant_id: str
    nodes: Mapping[tuple[str, str], Mapping[str, Any]]
    kpis: Mapping[str, KpiDef]
    calendar: FiscalCalendar
    by_metric: Mapping[str, list[tuple[KpiDef, str, MetricMeasure]]]

    @classmethod
    def build(
        cls, tenant_id: str, nodes: Mapping[tuple[str, str], Mapping[str, Any]]
    ) -> "Strategy":
        org = nodes.get(("organization", "organization"), {})
        kpis = {
            nid: kpi
            for (t, nid), d in nodes.items()
            if t == "kpi" and (kpi := _parse_kpi(nid, d)) is not None
        }
        by_metric: dict[str, list[tuple[KpiDef, str, MetricMeasure]]] = {}
        for kpi in kpis.values():
            for component, measure in kpi.components.items():
                by_metric.setdefault(measure.metric, []).append((kpi, component, measure))
        return cls(tenant_id, nodes, kpis, _calendar(org), by_metric)

    def node(self, node_type: str, node_id: str) -> Mapping[str, Any] | None:
        return self.nodes.get((node_type, node_id))
