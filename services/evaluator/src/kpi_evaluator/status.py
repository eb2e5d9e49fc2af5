"""Status of one KPI in one period: expected-to-date pace, forecast, status and score.

Rules (docs/evaluator.md, "Status"):
- Cumulative KPIs (sum, count) grow through the period: the expected value to date is the
  target times the elapsed fraction of the period (linear pace), for `increase` and for
  `decrease` (a budget: spending to date may reach its share of the cap). The forecast is
  the actual plus the remaining days at the mean of the period's daily pace so far and the
  daily rate of the last 7 days (the pace alone when there is no recent data).
- Level KPIs (avg, min, max, last, ratio, formula) do not accumulate: the expected value is
  the target itself at any moment, in either direction, and the forecast is the actual.
- The performance ratio p is actual/expected (increase) or expected/actual (decrease);
  p >= 1 is on_track, p >= at_risk_below (default 0.9) at_risk, below that off_track.
- achieved: a closed period that met its target, or an open cumulative `increase` KPI that
  already reached it. A cumulative `decrease` KPI above its cap is off_track at once.
- no_data: no value (or no target) for the period; stale: an open period whose metric has
  not arrived within the freshness window; both carry no score.
- score = clamp(p, 0, 1); achieved and in-range KPIs score 1.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from kpi_common.calendar import Bucket

from kpi_evaluator.targets import Target


@dataclass(frozen=True)
class Judged:
    """What the evaluator needs to know about the KPI to judge a value."""

    direction: str
    cumulative: bool
    at_risk_below: float


@dataclass(frozen=True)
class Evaluation:
    actual: float | None
    target: float | None
    expected: float | None
    forecast: float | None
    status: str
    score: float | None
    performance: float | None

    @property
    def gap(self) -> float | None:
        """Projected gap at period end: forecast minus target."""
        if self.forecast is None or self.target is None:
            return None
        return self.forecast - self.target


def expected_to_date(kpi: Judged, target: float, fraction: float) -> float:
    return target * fraction if kpi.cumulative else target


@dataclass(frozen=True)
class Recent:
    """What a cumulative KPI added over its recent window (the last days up to now)."""

    total: float
    days: float


def forecast_of(
    kpi: Judged, actual: float, bucket: Bucket, now: datetime, recent: Recent | None = None
) -> float:
    """Period-end value: the actual plus the remaining days at a daily rate that is the
    period's pace so far, averaged with the recent trend when there is one."""
    fraction = bucket.fraction_elapsed(now)
    if not kpi.cumulative or not 0 < fraction < 1:
        return actual
    elapsed = (now - bucket.start).total_seconds() / 86_400
    remaining = (bucket.end - now).total_seconds() / 86_400
    rate = actual / elapsed
    if recent is not None and recent.days > 0:
        rate = (rate + recent.total / recent.days) / 2
    return actual + rate * remaining


def performance(direction: str, actual: float, expected: float) -> float:
    """How the actual compares with what is expected to date; 1 means on pace."""
    if direction == "decrease":
        if actual <= 0:
            return 1.0 if actual <= expected else 0.0
        return expected / actual
    if expected <= 0:
        return 1.0 if actual >= expected else 0.0
    return actual / expected


def _band(p: float, at_risk_below: float) -> str:
    if p >= 1:
        return "on_track"
    return "at_risk" if p >= at_risk_below else "off_track"


def _met(direction: str, actual: float, target: float) -> bool:
    return actual <= target if direction == "decrease" else actual >= target


def _range(kpi: Judged, actual: float, target: Target, closed: bool) -> tuple[str, float]:
    assert target.low is not None
    assert target.high is not None
    if target.low <= actual <= target.high:
        return ("achieved" if closed else "on_track"), 1.0
    bound = target.low if actual < target.low else target.high
    p = 1 - abs(actual - bound) / abs(bound) if bound else 0.0
    return _band(p, kpi.at_risk_below), max(0.0, p)


def _judge(kpi: Judged, actual: float, target: float, expected: float, closed: bool) -> str:
    reached = kpi.cumulative and kpi.direction == "increase" and actual >= target
    if (closed or reached) and _met(kpi.direction, actual, target):
        return "achieved"
    if kpi.cumulative and kpi.direction == "decrease" and actual > target:
        return "off_track"
    return _band(performance(kpi.direction, actual, expected), kpi.at_risk_below)


def evaluate(
    kpi: Judged,
    target: Target | None,
    actual: float | None,
    bucket: Bucket,
    now: datetime,
    *,
    last_seen: datetime | None = None,
    stale_after: timedelta | None = None,
    recent: Recent | None = None,
) -> Evaluation:
    closed = now >= bucket.end
    fraction = bucket.fraction_elapsed(now)
    headline = target.headline if target else None
    is_range = target is not None and target.is_range
    expected = None
    if headline is not None and not is_range:
        expected = expected_to_date(kpi, headline, fraction)
    stale = (
        not closed
        and stale_after is not None
        and last_seen is not None
        and now - last_seen > stale_after
    )
    if actual is None or target is None or headline is None or stale:
        status = "stale" if stale else "no_data"
        return Evaluation(actual, headline, expected, None, status, None, None)
    forecast = forecast_of(kpi, actual, bucket, now, recent)
    if is_range:
        status, p = _range(kpi, actual, target, closed)
        return Evaluation(actual, headline, None, forecast, status, min(1.0, p), p)
    assert expected is not None
    if closed and _met(kpi.direction, actual, headline):
        p = 1.0
    else:
        p = performance(kpi.direction, actual, headline if closed else expected)
    status = _judge(kpi, actual, headline, expected, closed)
    score = 1.0 if status == "achieved" else max(0.0, min(1.0, p))
    return Evaluation(actual, headline, expected, forecast, status, score, p)
