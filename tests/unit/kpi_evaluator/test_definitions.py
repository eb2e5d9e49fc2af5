"""The evaluator holds every tenant's KPIs in memory: equal parts of KPIs (a measure, the
component map, targets) are one shared object, and sharing never mixes up unequal ones."""

from kpi_common.definitions import KpiDef as KpiSpec
from kpi_evaluator.definitions import KpiDef

from tests.support.strategy_events import definitions, load


def kpis(*entries: dict[str, object]) -> dict[str, KpiDef]:
    doc = load()
    doc["kpis"] = [{"title": "k", **e} for e in entries]
    found = definitions(doc)
    return {i: KpiDef.of(d) for (_, i), d in found.items() if isinstance(d, KpiSpec)}


SUM = {"metric": "crm.deal.won", "aggregation": "sum"}
MARCH_120 = {"period": "2026-03", "value": 120}


def test_equal_measures_and_targets_are_shared_between_kpis() -> None:
    got = kpis(
        {"id": "a", "measure": SUM, "target": 100},
        {"id": "b", "measure": SUM, "target": 100},
    )
    a, b = got["a"], got["b"]
    assert a.components is b.components
    assert a.targets is b.targets
    assert a.targets.for_period("2026-03") == 100


def test_unequal_parts_stay_apart() -> None:
    count = {"metric": "crm.deal.won", "aggregation": "count"}
    got = kpis(
        {"id": "a", "measure": SUM, "target": 100},
        {"id": "b", "measure": count, "target": 100},
        {"id": "c", "measure": SUM, "target": 100, "targets": [MARCH_120]},
        {"id": "d", "measure": SUM, "direction": "range", "target": {"min": 1, "max": 5}},
    )
    assert got["a"].components is not got["b"].components
    assert got["b"].components["value"].aggregation == "count"
    assert got["a"].targets is not got["c"].targets
    assert got["c"].targets.for_period("2026-03") == 120
    assert got["c"].targets.for_period("2026-04") == 100
    band = got["d"].targets.band
    assert band is not None
    assert (band.low, band.high) == (1, 5)
