"""The burn-rate math (kpi_evaluator.burn_rates), with the worked numbers of docs/strategy.md
("Burn-rate alerts"): acme's cash flow, a year of 1,150,000 USD with a 10% budget."""

from datetime import UTC, datetime, timedelta

import pytest
from kpi_common.calendar import FiscalCalendar
from kpi_common.definitions import BurnRateDef, Direction
from kpi_evaluator.burn_rates import (
    BurnState,
    Judging,
    Reading,
    accrued,
    alert_id,
    burn_rate,
    read,
    step,
)

CAL = FiscalCalendar()
YEAR = CAL.year(2026)
NOW = datetime(2026, 6, 1, tzinfo=UTC)  # 151 days into the year
RULE = BurnRateDef(long_days=28, short_days=7, factor=2)
CASH = Judging(Direction.INCREASE, 1_150_000, 0.9)
REF = ("t1", "cash-flow", "2026", RULE.key)


def days(first: str, n: int, each: float) -> dict[str, float]:
    start = datetime.fromisoformat(first)
    return {(start + timedelta(days=i)).date().isoformat(): each for i in range(n)}


def test_a_rate_of_one_spends_the_budget_exactly_by_period_end() -> None:
    # expected 100 in the window, budget 10%: 90 accrued is the whole budget's share
    assert burn_rate(Direction.INCREASE, 100, 90, 0.1) == pytest.approx(1)
    assert burn_rate(Direction.INCREASE, 100, 80, 0.1) == pytest.approx(2)
    assert burn_rate(Direction.INCREASE, 100, 110, 0.1) == pytest.approx(-1)  # ahead
    # a cap (decrease): spending 120 where 100 was the pace burns a 10% budget 2x
    assert burn_rate(Direction.DECREASE, 100, 120, 0.1) == pytest.approx(2)
    assert burn_rate(Direction.DECREASE, 100, 90, 0.1) == pytest.approx(-1)


def test_the_first_day_of_a_window_counts_pro_rata() -> None:
    totals = {"2026-05-31": 240.0, "2026-06-01": 100.0}
    now = datetime(2026, 6, 1, 6, tzinfo=UTC)
    # the last 24 hours: 18 of May 31's 24 hours, and today so far
    assert accrued(totals, CAL, now - timedelta(days=1), now) == pytest.approx(180 + 100)


def test_worked_example_fires_while_the_year_to_date_is_on_track() -> None:
    # May 4..31: 70,000 (of 88,219 expected); May 25..31: 15,000 (of 22,055)
    totals = {**days("2026-05-04", 21, 55_000 / 21), **days("2026-05-25", 7, 15_000 / 7)}
    reading = read(RULE, CASH, totals, CAL, YEAR, NOW)
    assert reading is not None
    assert reading.long == pytest.approx((1 - 70_000 / (1_150_000 * 28 / 365)) / 0.1)
    assert (round(reading.long, 3), round(reading.short, 3)) == (2.065, 3.199)
    assert reading.projected_share == pytest.approx(0.2065, abs=1e-4)  # the year ends 20.7% short
    state, change = step(BurnState(), reading, RULE.factor, NOW, REF)
    assert change == "fired"
    assert state.alert_id == alert_id(*REF, 1)


def test_a_short_blip_stays_quiet() -> None:
    # 28 days at pace except the last two, which brought nothing: short bad, long fine
    pace = 1_150_000 / 365
    totals = days("2026-05-04", 26, pace)
    reading = read(RULE, CASH, totals, CAL, YEAR, NOW)
    assert reading is not None
    assert (round(reading.long, 3), round(reading.short, 3)) == (0.714, 2.857)
    assert step(BurnState(), reading, RULE.factor, NOW, REF) == (BurnState(), None)


def test_resolves_when_the_short_window_drops_below_the_factor_and_at_period_end() -> None:
    fired = BurnState(alert_id(*REF, 1), NOW, 1)
    assert step(fired, Reading(3, 2.5, 0.1), 2, NOW, REF) == (fired, None)
    assert step(fired, Reading(3, 1.5, 0.1), 2, NOW, REF) == (BurnState(seq=1), "resolved")
    assert step(fired, None, 2, NOW, REF) == (BurnState(seq=1), "resolved")
    # firing again in the same period is a new alert
    again, change = step(BurnState(seq=1), Reading(3, 3, 0.1), 2, NOW, REF)
    assert (change, again.seq, again.alert_id) == ("fired", 2, alert_id(*REF, 2))


def test_windows_are_cut_at_the_period_start_and_a_closed_period_has_no_reading() -> None:
    early = datetime(2026, 1, 3, tzinfo=UTC)  # two days in: both windows are those two days
    reading = read(RULE, CASH, days("2026-01-01", 2, 0.0), CAL, YEAR, early)
    assert reading is not None
    assert reading.long == reading.short == pytest.approx(10)  # nothing of 10% budget: 1/0.1
    assert read(RULE, CASH, {}, CAL, YEAR, YEAR.end) is None
    no_budget = Judging(Direction.INCREASE, 1_150_000, 1.0)
    assert read(RULE, no_budget, {}, CAL, YEAR, NOW) is None
    declared = BurnRateDef(long_days=28, short_days=7, factor=2, budget=0.2)
    reading = read(declared, no_budget, days("2026-05-04", 28, 0.0), CAL, YEAR, NOW)
    assert reading is not None
    assert reading.long == pytest.approx(5)  # nothing accrued: 1 / 0.2
