"""Pace, forecast, status and score, with values computed by hand in the comments."""

from datetime import UTC, datetime, timedelta

import pytest
from kpi_common.calendar import FiscalCalendar
from kpi_common.definitions import Direction
from kpi_evaluator.definitions import Pace
from kpi_evaluator.status import Judged, evaluate
from kpi_evaluator.targets import Target

CAL = FiscalCalendar()
YEAR = CAL.year(2026)  # 365 days: 2026-07-02T12:00Z is exactly half way
MID_YEAR = datetime(2026, 7, 2, 12, tzinfo=UTC)
Q1 = CAL.quarter(2026, 1)  # 90 days: 2026-02-15T00:00Z is exactly half way
MID_Q1 = datetime(2026, 2, 15, tzinfo=UTC)
SUM_UP = Judged(Direction.INCREASE, Pace.CUMULATIVE, at_risk_below=0.9)
SUM_DOWN = Judged(Direction.DECREASE, Pace.CUMULATIVE, at_risk_below=0.9)
AVG_DOWN = Judged(Direction.DECREASE, Pace.LEVEL, at_risk_below=0.9)


def test_revenue_half_way_through_the_year() -> None:
    # target 12M, half the year gone: expected 6M; 5.7M is p = 0.95 -> at_risk
    ev = evaluate(SUM_UP, Target(12_000_000), 5_700_000, YEAR, MID_YEAR)
    assert ev.expected == pytest.approx(6_000_000)
    assert ev.forecast == pytest.approx(11_400_000)
    assert ev.gap == pytest.approx(-600_000)
    assert ev.status == "at_risk"
    assert ev.score == pytest.approx(0.95)
    # 5M is p = 0.833 -> off_track
    assert evaluate(SUM_UP, Target(12_000_000), 5_000_000, YEAR, MID_YEAR).status == "off_track"


@pytest.mark.parametrize(
    ("actual", "status", "score"),
    [(23, "at_risk", 0.92), (22, "off_track", 0.88), (25, "on_track", 1.0), (50, "achieved", 1.0)],
)
def test_new_clients_count_against_the_quarter_pace(actual: int, status: str, score: float) -> None:
    # target 50, half the quarter gone: expected 25
    ev = evaluate(SUM_UP, Target(50), actual, Q1, MID_Q1)
    assert ev.expected == 25
    assert ev.status == status
    assert ev.score == pytest.approx(score)


@pytest.mark.parametrize(
    ("actual", "closed", "status"),
    [
        (33, False, "at_risk"),
        (28, False, "on_track"),
        (29, True, "achieved"),
        (36, True, "off_track"),
    ],
)
def test_ar_days_average_decrease_expects_the_target_itself(
    actual: float, closed: bool, status: str
) -> None:
    # 33 days: p = 30/33 = 0.909 -> at_risk; at close 36 days: p = 0.833 -> off_track
    now = Q1.end + timedelta(hours=1) if closed else MID_Q1
    ev = evaluate(AVG_DOWN, Target(30), actual, Q1, now)
    assert ev.expected == 30
    assert ev.forecast == actual
    assert ev.status == status


@pytest.mark.parametrize(
    ("actual", "status"),
    [(4_400_000, "on_track"), (4_800_000, "at_risk"), (9_100_000, "off_track")],
)
def test_operating_costs_budget_burns_linearly(actual: float, status: str) -> None:
    # cap 9M, half the year gone: expected 4.5M; 4.8M is p = 4.5/4.8 = 0.9375
    ev = evaluate(SUM_DOWN, Target(9_000_000), actual, YEAR, MID_YEAR)
    assert ev.expected == pytest.approx(4_500_000)
    assert ev.status == status


def test_range_no_data_and_stale() -> None:
    level = Judged(Direction.RANGE, Pace.LEVEL, at_risk_below=0.9)
    assert evaluate(level, Target(low=2, high=4), 3, Q1, MID_Q1).status == "on_track"
    outside = evaluate(level, Target(low=2, high=4), 4.2, Q1, MID_Q1)  # p = 1 - 0.2/4 = 0.95
    assert outside.status == "at_risk"
    assert outside.score == pytest.approx(0.95)
    assert evaluate(SUM_UP, Target(50), None, Q1, MID_Q1).status == "no_data"
    assert evaluate(SUM_UP, None, 10, Q1, MID_Q1).status == "no_data"
    seen = MID_Q1 - timedelta(days=3)
    stale = evaluate(
        SUM_UP, Target(50), 25, Q1, MID_Q1, last_seen=seen, stale_after=timedelta(days=2)
    )
    assert (stale.status, stale.score) == ("stale", None)
    fresh = evaluate(
        SUM_UP, Target(50), 25, Q1, MID_Q1, last_seen=seen, stale_after=timedelta(days=4)
    )
    assert fresh.status == "on_track"


def test_the_forecast_blends_the_pace_with_the_recent_trend() -> None:
    # 23 in 45 days, 45 days left. Pace alone: 46. With 14 in the last 7 days (2 a day):
    # 23 + 45 * (23/45 + 2) / 2 = 23 + 11.5 + 45 = 79.5
    from kpi_evaluator.status import Recent

    assert evaluate(SUM_UP, Target(50), 23, Q1, MID_Q1).forecast == pytest.approx(46)
    trend = evaluate(SUM_UP, Target(50), 23, Q1, MID_Q1, recent=Recent(14, 7))
    assert trend.forecast == pytest.approx(79.5)
    assert trend.gap == pytest.approx(29.5)
    level = evaluate(AVG_DOWN, Target(30), 33, Q1, MID_Q1, recent=Recent(14, 7))
    assert level.forecast == 33
