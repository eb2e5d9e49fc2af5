"""Status of one KPI in one period: expected-to-date pace, forecast, status and score.

Rules (docs/evaluator.md, "Status"), with `f` the elapsed fraction of the period:
- How the value to date moves with `f` is the KPI's `Pace`. A cumulative KPI (sum, count)
  grows through the period: expected to date = target × f (for `increase`, and for
  `decrease`: a budget may be spent up to its share of the cap); forecast = the actual plus
  the remaining days at the mean of the period's daily pace so far and the daily rate of
  the last 7 days (the pace alone when there is no recent data).
- A ratio whose numerator alone is cumulative (`growing`: customers lost / customers) grows
  like one: its numerator is projected to period end at its pace so far (forecast =
  actual / f), expected to date = target × f. One whose denominator alone is cumulative
  (`shrinking`) falls as 1/f: forecast = actual × f, expected = target / f. Both are judged
  by their forecast against the target.
- Level KPIs (avg, min, max, last, formula, a ratio of two levels or of two cumulatives)
  do not accumulate: expected = the target at any moment; forecast = the actual.
- The performance ratio p is value/target (increase) or target/value (decrease); p >= 1 is
  on_track, p >= at_risk_below at_risk, below that off_track. The value is the actual
  against the expected-to-date for cumulative and level KPIs, the forecast against the
  target for growing and shrinking ratios.
- achieved: a closed period that met its target, or an open cumulative `increase` KPI that
  already reached it. A cumulative `decrease` KPI above its cap is off_track at once.
- range: inside the band [low, high] achieved (closed) or on_track, p = 1 + depth / scale;
  outside, p = 1 - distance to the nearest bound / scale, then the same bands; scale = the
  larger of |that bound| and the band's width. The value judged is the forecast (the actual
  for a level, and once the period is closed).
- no_data: no value (or no target) for the period; stale: an open period whose metric has
  not arrived within the freshness window; both carry no score.
- score = clamp(p, 0, 1); achieved and in-band KPIs score 1.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from kpi_common.calendar import Bucket
from kpi_common.definitions import Direction

from kpi_evaluator.definitions import Pace
from kpi_evaluator.targets import Target

PROJECTED = frozenset({Pace.GROWING, Pace.SHRINKING})  # judged by their forecast


@dataclass(frozen=True)
class Judged:
    """What the evaluator needs to know about the KPI to judge a value."""

    direction: Direction
    pace: Pace
    at_risk_below: float

    @property
    def cumulative(self) -> bool:
        return self.pace is Pace.CUMULATIVE


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
    """What the value should be now for the period to end on target."""
    if kpi.pace in (Pace.CUMULATIVE, Pace.GROWING):
        return target * fraction
    if kpi.pace is Pace.SHRINKING and fraction > 0:
        return target / fraction
    return target


@dataclass(frozen=True)
class Recent:
    """What a cumulative KPI added over its recent window (the last days up to now)."""

    total: float
    days: float


def forecast_of(
    kpi: Judged, actual: float, bucket: Bucket, now: datetime, recent: Recent | None = None
) -> float:
    """Period-end value: the actual plus the remaining days at a daily rate that is the
    period's pace so far, averaged with the recent trend when there is one. A growing ratio
    projects its numerator by the pace alone; a shrinking one its denominator."""
    fraction = bucket.fraction_elapsed(now)
    if kpi.pace is Pace.LEVEL or not 0 < fraction < 1:
        return actual
    if kpi.pace is Pace.SHRINKING:
        return actual * fraction
    elapsed = (now - bucket.start).total_seconds() / 86_400
    remaining = (bucket.end - now).total_seconds() / 86_400
    rate = actual / elapsed
    if kpi.pace is Pace.CUMULATIVE and recent is not None and recent.days > 0:
        rate = (rate + recent.total / recent.days) / 2
    return actual + rate * remaining


def performance(direction: str, actual: float, expected: float) -> float:
    """How the actual compares with what is expected to date; 1 means on pace."""
    if direction == Direction.DECREASE:
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
    return actual <= target if direction == Direction.DECREASE else actual >= target


def band_performance(value: float, low: float, high: float) -> float:
    """How a value sits against the band [low, high], continuous across its bounds: outside,
    1 - distance to the nearest bound / scale; inside, 1 + distance to the nearest bound /
    scale (deeper inside is better, so leaving a breach needs the same hysteresis margin as
    any KPI). The scale is the larger of |that bound| and the band's width, so a band with
    a bound at 0 ([0, 5]) still measures a miss relative to something; a point band at 0
    scores 1 on it and 0 off it."""
    bound = low if value < (low + high) / 2 else high
    scale = max(abs(bound), high - low)
    if scale <= 0:
        return 1.0 if value == bound else 0.0
    inside = low <= value <= high
    return 1 + (1 if inside else -1) * abs(value - bound) / scale


def _range(kpi: Judged, value: float, target: Target, closed: bool) -> tuple[str, float]:
    assert target.low is not None
    assert target.high is not None
    p = band_performance(value, target.low, target.high)
    if target.low <= value <= target.high:
        return ("achieved" if closed else "on_track"), p
    return _band(p, kpi.at_risk_below), p


def _judge(kpi: Judged, actual: float, target: float, expected: float, closed: bool) -> str:
    reached = kpi.cumulative and kpi.direction == Direction.INCREASE and actual >= target
    if (closed or reached) and _met(kpi.direction, actual, target):
        return "achieved"
    if kpi.cumulative and kpi.direction == Direction.DECREASE and actual > target:
        return "off_track"
    return _band(performance(kpi.direction, actual, expected), kpi.at_risk_below)


def _judge_forecast(kpi: Judged, forecast: float, target: float, closed: bool) -> str:
    if closed and _met(kpi.direction, forecast, target):
        return "achieved"
    return _band(performance(kpi.direction, forecast, target), kpi.at_risk_below)


def _stale(
    closed: bool, now: datetime, last_seen: datetime | None, stale_after: timedelta | None
) -> bool:
    if closed or stale_after is None or last_seen is None:
        return False
    return now - last_seen > stale_after


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
    headline = target.headline if target else None
    is_range = target is not None and target.is_range
    expected = None
    if headline is not None and not is_range:
        expected = expected_to_date(kpi, headline, bucket.fraction_elapsed(now))
    stale = _stale(closed, now, last_seen, stale_after)
    if actual is None or target is None or headline is None or stale:
        status = "stale" if stale else "no_data"
        return Evaluation(actual, headline, expected, None, status, None, None)
    forecast = forecast_of(kpi, actual, bucket, now, recent)
    if is_range:
        status, p = _range(kpi, forecast, target, closed)
        return Evaluation(actual, headline, None, forecast, status, max(0.0, min(1.0, p)), p)
    assert expected is not None
    if kpi.pace in PROJECTED:
        p = performance(kpi.direction, forecast, headline)
        status = _judge_forecast(kpi, forecast, headline, closed)
    elif closed and _met(kpi.direction, actual, headline):
        p, status = 1.0, "achieved"
    else:
        p = performance(kpi.direction, actual, headline if closed else expected)
        status = _judge(kpi, actual, headline, expected, closed)
    score = 1.0 if status == "achieved" else max(0.0, min(1.0, p))
    return Evaluation(actual, headline, expected, forecast, status, score, p)
