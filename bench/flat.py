"""When is the evaluator's lag "flat"? The rule of (j), pure: samples in, a verdict out.

A probe offers `rate` events/s (open loop) for `WINDOW_S` seconds and samples the evaluator's
lag (messages of `metrics.events` between the end of each partition and the evaluator's
stored offset) every second. The rate is sustained when all three hold:
- **no trend**: the least-squares slope of the lag over the window, after `WARMUP_S` (the
  pipeline filling up), is at most `SLOPE_FRACTION` of the offered rate;
- **small at the end**: the median of the last `END_SAMPLES` samples is at most `END_LAG_S`
  seconds of the offered rate (a backlog that would still take seconds to apply is not
  keeping up, flat or not);
- **offered means accepted**: ingest accepted at least `ACCEPTED_FRACTION` of the offered rate,
  over the window, or over the time until the last answer when that came more than
  `ANSWER_GRACE_S` after the window (the sender fell behind: ingest, not the evaluator, is the
  limit, and what was not accepted never reached the lag).
A probe stops early, failed, when after `ABORT_AFTER_S` the lag exceeds `ABORT_LAG_S`
seconds of the offered rate: it cannot end flat and small within the window.
"""

import statistics
from dataclasses import dataclass

WINDOW_S = 60.0
WARMUP_S = 5.0
SLOPE_FRACTION = 0.02
END_SAMPLES = 5
END_LAG_S = 2.0
ACCEPTED_FRACTION = 0.97
ANSWER_GRACE_S = 5.0
ABORT_AFTER_S = 15.0
ABORT_LAG_S = 6.0

Sample = tuple[float, float]  # (seconds since the probe started, lag in messages)


@dataclass(frozen=True)
class Verdict:
    rate: float  # offered, events/s
    accepted: float  # accepted by ingest, events/s over the window (or until the abort)
    slope: float  # lag trend, messages/s
    end_lag: float  # messages
    seconds: float  # how long the probe ran (shorter when aborted)
    flat: bool
    why: str  # the first rule that failed, or "flat"

    @property
    def applied(self) -> float:
        """What the evaluator applied meanwhile: accepted minus the lag's growth (events/s)."""
        return max(0.0, self.accepted - max(0.0, self.slope))


def should_abort(rate: float, at: float, lag: float) -> bool:
    return at >= ABORT_AFTER_S and lag > ABORT_LAG_S * rate


def slope(samples: list[Sample]) -> float:
    if len(samples) < 2:
        return 0.0
    times, lags = zip(*samples, strict=True)
    if max(times) == min(times):
        return 0.0
    return float(statistics.linear_regression(times, lags).slope)


def judge(
    rate: float, samples: list[Sample], accepted: int, seconds: float, aborted: bool
) -> Verdict:
    """The verdict on a probe that ran `seconds` (`aborted` by `should_abort` or not)."""
    steady = [s for s in samples if s[0] >= WARMUP_S] or samples
    trend = slope(steady)
    end = statistics.median([lag for _, lag in samples[-END_SAMPLES:]]) if samples else 0.0
    took = accepted / _sending_time(seconds, aborted) if seconds else 0.0
    checks = (
        (not aborted, f"stopped after {seconds:.0f}s: lag above {ABORT_LAG_S:.0f}s"),
        (took >= ACCEPTED_FRACTION * rate, f"ingest accepted only {took:,.0f}/s"),
        (trend <= SLOPE_FRACTION * rate, f"lag growing {trend:,.0f}/s"),
        (end <= END_LAG_S * rate, f"lag at the end {end:,.0f}"),
    )
    why = next((reason for ok, reason in checks if not ok), "flat")
    return Verdict(rate, took, trend, end, seconds, why == "flat", why)


def _sending_time(seconds: float, aborted: bool) -> float:
    """The window, when the last answers came within `ANSWER_GRACE_S` after it; longer when
    the sender fell behind its schedule (ingest answered too slowly)."""
    return seconds if aborted else max(WINDOW_S, seconds - ANSWER_GRACE_S)


def next_rate(tried: list[Verdict], step_up: float = 1.2) -> float:
    """Bisection between the best flat rate and the lowest failing one; without a failure yet,
    `step_up` above the best; without a flat one yet, just under what the evaluator applied
    in the lowest failure (it applied that much while ingest took even more CPU)."""
    passed = [v.rate for v in tried if v.flat]
    failed = [v for v in tried if not v.flat]
    low = max(passed, default=0.0)
    if not failed:
        return low * step_up
    high = min(failed, key=lambda v: v.rate)
    if not passed:
        return min(0.95 * high.applied, 0.8 * high.rate) if high.applied else 0.5 * high.rate
    return (low + high.rate) / 2


def resolved(tried: list[Verdict], resolution: float = 0.1) -> bool:
    """The highest flat rate and the lowest failing one are within `resolution` of each other."""
    low = max((v.rate for v in tried if v.flat), default=0.0)
    high = min((v.rate for v in tried if not v.flat), default=float("inf"))
    return low > 0 and high <= low * (1 + resolution)
