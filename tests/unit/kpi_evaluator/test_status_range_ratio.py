"""`direction: range` and ratios judged by the pace of their parts (docs/evaluator.md,
"Status"), with values computed by hand in the comments."""

from datetime import UTC, datetime, timedelta

import pytest
from kpi_common.calendar import FiscalCalendar
from kpi_common.definitions import Direction
from kpi_evaluator.definitions import Pace
from kpi_evaluator.status import Judged, band_performance, evaluate
from kpi_evaluator.targets import Target

CAL = FiscalCalendar()
APRIL = CAL.bucket("month", datetime(2026, 4, 1, tzinfo=UTC))  # 30 days
FOUR_DAYS_IN = datetime(2026, 4, 5, tzinfo=UTC)  # f = 4/30
AFTER_APRIL = APRIL.end + timedelta(hours=1)
Q1 = CAL.quarter(2026, 1)  # 90 days: 2026-02-15T00:00Z is half way
MID_Q1 = datetime(2026, 2, 15, tzinfo=UTC)

CHURN = Judged(Direction.DECREASE, Pace.GROWING, at_risk_below=0.9)  # count / last
BAND = Judged(Direction.RANGE, Pace.LEVEL, at_risk_below=0.9)
SUM_IN_BAND = Judged(Direction.RANGE, Pace.CUMULATIVE, at_risk_below=0.9)


def test_two_customers_lost_of_500_in_four_days_is_three_percent_a_month_and_off_track() -> None:
    # 2/500 = 0.4% to date; the numerator at its pace: 2 * 30/4 = 15 -> 15/500 = 3% a month,
    # against 2.4%: p = 0.024/0.03 = 0.8 -> off_track (a level would call 0.4% on track)
    ev = evaluate(CHURN, Target(0.024), 2 / 500, APRIL, FOUR_DAYS_IN)
    assert ev.forecast == pytest.approx(0.03)
    assert ev.expected == pytest.approx(0.024 * 4 / 30)  # 0.32% to date keeps to the target
    assert ev.status == "off_track"
    assert ev.score == pytest.approx(0.8)
    assert ev.gap == pytest.approx(0.006)


@pytest.mark.parametrize(
    ("lost", "status"),
    [(1, "on_track"), (1.7, "at_risk"), (2, "off_track")],
)
def test_churn_pace_bands(lost: float, status: str) -> None:
    # 1 lost: 7.5 a month = 1.5% -> on_track; 1.7: 12.75 = 2.55%, p = 0.94 -> at_risk
    assert evaluate(CHURN, Target(0.024), lost / 500, APRIL, FOUR_DAYS_IN).status == status


def test_a_closed_month_of_a_growing_ratio_is_judged_on_its_actual() -> None:
    achieved = evaluate(CHURN, Target(0.024), 11 / 500, APRIL, AFTER_APRIL)
    assert (achieved.forecast, achieved.status, achieved.score) == (11 / 500, "achieved", 1.0)
    missed = evaluate(CHURN, Target(0.024), 0.03, APRIL, AFTER_APRIL)
    assert missed.status == "off_track"
    assert missed.score == pytest.approx(0.8)


def test_a_ratio_over_a_cumulative_denominator_shrinks_with_the_period() -> None:
    # cost (a level, last) per lead (a count): 1,000 / 10 leads half way = 100 to date; the
    # leads at their pace make 20 by the end: forecast 1,000/20 = 50 against 60 -> on_track
    per_lead = Judged(Direction.DECREASE, Pace.SHRINKING, at_risk_below=0.9)
    ev = evaluate(per_lead, Target(60), 100, Q1, MID_Q1)
    assert ev.forecast == pytest.approx(50)
    assert ev.expected == pytest.approx(120)
    assert (ev.status, ev.score) == ("on_track", 1.0)


def test_inside_the_band_is_on_track_or_achieved_and_scores_one() -> None:
    inside = evaluate(BAND, Target(low=2, high=4), 3, Q1, MID_Q1)
    assert (inside.status, inside.score, inside.target) == ("on_track", 1.0, 3)
    assert inside.performance == pytest.approx(1.25)  # 1 inside the nearest bound, scale 4
    closed = evaluate(BAND, Target(low=2, high=4), 2, Q1, Q1.end)
    assert (closed.status, closed.score) == ("achieved", 1.0)


@pytest.mark.parametrize(
    ("value", "p", "status"),
    [
        (-0.25, 0.95, "at_risk"),  # below 0: scale is the width 5 (|0| is no scale)
        (5.5, 0.9, "at_risk"),  # 0.5 above 5: scale 5
        (7, 0.6, "off_track"),
        (-6, 0.0, "off_track"),  # p = -0.2, the score is clamped at 0
    ],
)
def test_outside_a_band_with_a_bound_at_zero_is_judged_by_how_far(
    value: float, p: float, status: str
) -> None:
    ev = evaluate(BAND, Target(low=0, high=5), value, Q1, MID_Q1)
    assert ev.status == status
    assert ev.score == pytest.approx(max(0.0, p))


def test_band_performance_is_continuous_and_a_point_band_at_zero_is_exact() -> None:
    assert band_performance(95, 95, 100) == 1.0
    assert band_performance(94.05, 95, 100) == pytest.approx(0.99)  # scale |95|
    assert band_performance(-1.5, -1, 1) == pytest.approx(0.75)  # scale: the width 2
    assert (band_performance(0, 0, 0), band_performance(0.1, 0, 0)) == (1.0, 0.0)


def test_a_cumulative_kpi_in_a_band_is_judged_by_its_forecast() -> None:
    # band 40..60 for the quarter, half way: 25 goes to 50 -> on_track; 10 goes to 20,
    # p = 1 - 20/40 = 0.5 -> off_track; 35 goes to 70, p = 1 - 10/60 -> off_track
    assert evaluate(SUM_IN_BAND, Target(low=40, high=60), 25, Q1, MID_Q1).status == "on_track"
    low = evaluate(SUM_IN_BAND, Target(low=40, high=60), 10, Q1, MID_Q1)
    assert (low.forecast, low.status) == (20, "off_track")
    assert low.score == pytest.approx(0.5)
    high = evaluate(SUM_IN_BAND, Target(low=40, high=60), 35, Q1, MID_Q1)
    assert high.status == "off_track"
    assert high.score == pytest.approx(1 - 10 / 60)


def test_the_range_example_of_the_strategy_guide() -> None:
    # docs/strategy.md, "Range KPIs": inventory days in [30, 45]; 47 is 2 above, scale 45:
    # p = 1 - 2/45 = 0.956 -> at_risk; 38 is inside -> on_track, a closed month achieved
    days = Target(low=30, high=45)
    above = evaluate(BAND, days, 47, APRIL, FOUR_DAYS_IN)
    assert (above.status, above.target) == ("at_risk", 37.5)
    assert above.score == pytest.approx(1 - 2 / 45)
    assert evaluate(BAND, days, 38, APRIL, FOUR_DAYS_IN).status == "on_track"
    assert evaluate(BAND, days, 38, APRIL, AFTER_APRIL).status == "achieved"
