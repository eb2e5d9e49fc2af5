"""A period's target is the contract's resolved number (or a range KPI's band): the
evaluator looks it up and computes nothing (the arithmetic is goals', tests/unit/kpi_goals)."""

import pytest
from kpi_common.definitions import KpiDef as KpiSpec
from kpi_evaluator.definitions import KpiDef, Pace
from kpi_evaluator.targets import Target, target_for

from tests.support.strategy_events import definitions, load

ACME = {i: KpiDef.of(d) for (t, i), d in definitions().items() if isinstance(d, KpiSpec)}


def kpi(**entry: object) -> KpiDef:
    doc = load()
    measure = {"metric": "m", "aggregation": "avg"}
    doc["kpis"] = [{"id": "k", "title": "k", "measure": measure, **entry}]
    spec = definitions(doc)[("kpi", "k")]
    assert isinstance(spec, KpiSpec)
    return KpiDef.of(spec)


def test_the_resolved_default_of_every_period() -> None:
    # revenue: baseline 10,000,000, increase_by 20%, resolved by goals -> 12,000,000
    revenue = target_for(ACME["revenue"], "2026")
    assert revenue is not None
    assert revenue.value == pytest.approx(12_000_000)
    churn = target_for(ACME["churn-rate"], "2026-Q1")  # 0.05 decreased by 10%
    assert churn is not None
    assert churn.value == pytest.approx(0.045)
    assert target_for(ACME["new-clients"], "2026-Q3") == Target(value=50)


def test_per_period_targets_and_a_period_without_one() -> None:
    leads = ACME["qualified-leads"]
    assert target_for(leads, "2026-Q1") == Target(value=200)
    assert target_for(leads, "2026-Q2") == Target(value=150)
    assert target_for(leads, "2027-Q1") is None


def test_a_range_kpi_has_its_band_in_every_period_and_a_plain_amount_is_as_resolved() -> None:
    band = target_for(kpi(direction="range", target={"min": 2, "max": 4}), "2026-03")
    assert band == Target(low=2, high=4)
    assert band.is_range
    assert band.headline == 3
    assert target_for(kpi(baseline=100, target={"increase_by": 5}), "2026") == Target(105)
    assert target_for(kpi(target={"increase_by": "10%"}), "2026") is None  # no baseline


CUMULATIVE = ("sum", "count")  # docs/strategy.md, "Ratio KPIs": the others are levels
AGGREGATIONS = (*CUMULATIVE, "avg", "min", "max", "last")
RATIO_PACE = {(True, False): Pace.GROWING, (False, True): Pace.SHRINKING}


@pytest.mark.parametrize(
    ("numerator", "denominator", "pace"),
    [
        (n, d, RATIO_PACE.get((n in CUMULATIVE, d in CUMULATIVE), Pace.LEVEL))
        for n in AGGREGATIONS
        for d in AGGREGATIONS
    ],
)
def test_a_ratio_moves_with_the_period_as_its_cumulative_parts_do(
    numerator: str, denominator: str, pace: Pace
) -> None:
    parts = {"numerator": {"metric": "a", "aggregation": numerator}}
    parts["denominator"] = {"metric": "b", "aggregation": denominator}
    assert kpi(measure={"ratio": parts}).pace is pace
    assert ACME["churn-rate"].pace is Pace.GROWING  # customers lost / active customers
    assert (ACME["revenue"].pace, ACME["ar-days"].pace) == (Pace.CUMULATIVE, Pace.LEVEL)
