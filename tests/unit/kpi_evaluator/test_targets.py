"""Target forms of the acme example."""

import pytest
from kpi_evaluator.targets import Target, target_for

from tests.support.strategy_events import load

ACME = {k["id"]: k for k in load()["kpis"]}


def test_increase_by_percent_of_the_baseline() -> None:
    # revenue: baseline 10,000,000, increase_by 20% -> 12,000,000
    assert target_for(ACME["revenue"], "2026") == Target(value=pytest.approx(12_000_000))


def test_decrease_by_percent_of_the_baseline() -> None:
    # churn-rate: baseline 0.05, decrease_by 10% -> 0.045
    target = target_for(ACME["churn-rate"], "2026-Q1")
    assert target is not None
    assert target.value == pytest.approx(0.045)


def test_per_period_targets_and_a_period_without_one() -> None:
    leads = ACME["qualified-leads"]
    assert target_for(leads, "2026-Q1") == Target(value=200)
    assert target_for(leads, "2026-Q2") == Target(value=150)
    assert target_for(leads, "2027-Q1") is None


def test_absolute_range_and_plain_amount() -> None:
    assert target_for(ACME["new-clients"], "2026-Q3") == Target(value=50)
    rng = target_for({"target": {"min": 2, "max": 4}}, "2026")
    assert rng is not None
    assert rng.is_range
    assert rng.headline == 3
    assert target_for({"baseline": 100, "target": {"increase_by": 5}}, "2026") == Target(105)
    assert target_for({"target": {"increase_by": "10%"}}, "2026") is None
    assert target_for({"baseline": 1, "target": {"increase_by": "ten%"}}, "2026") is None
