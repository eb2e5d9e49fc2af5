"""The rule of (j) "the evaluator's lag stays flat", and the search's next rate."""

from bench import flat
from bench.sustained import MAX_PROBES, Search, _spent


def ramp(start: float, per_s: float, seconds: int = 60) -> list[flat.Sample]:
    return [(float(t), start + per_s * t) for t in range(seconds + 1)]


def test_a_steady_lag_is_flat() -> None:
    verdict = flat.judge(10_000, ramp(3_000, 0), 600_000, 60.0, aborted=False)
    assert verdict.flat
    assert verdict.why == "flat"


def test_a_lag_growing_faster_than_two_percent_of_the_rate_is_not() -> None:
    verdict = flat.judge(10_000, ramp(0, 300), 600_000, 60.0, aborted=False)
    assert not verdict.flat
    assert "growing" in verdict.why
    assert verdict.applied == 10_000 - 300


def test_the_warm_up_does_not_count_toward_the_trend() -> None:
    filling = [(t, lag) for t, lag in ramp(0, 0) if t < flat.WARMUP_S]
    filling = [(t, 4_000 * t) for t, _ in filling]
    steady = [(t, 16_000.0) for t, _ in ramp(0, 0) if t >= flat.WARMUP_S]
    assert flat.judge(10_000, filling + steady, 600_000, 60.0, aborted=False).flat


def test_a_large_backlog_at_the_end_is_not_flat_even_without_a_trend() -> None:
    verdict = flat.judge(10_000, ramp(50_000, 0), 600_000, 60.0, aborted=False)
    assert not verdict.flat
    assert "at the end" in verdict.why


def test_ingest_accepting_less_than_offered_fails_the_rate() -> None:
    verdict = flat.judge(10_000, ramp(0, 0), 500_000, 60.0, aborted=False)
    assert not verdict.flat
    assert "ingest" in verdict.why


def test_answers_after_the_window_count_toward_the_window() -> None:
    assert flat.judge(10_000, ramp(0, 0), 600_000, 63.0, aborted=False).flat


def test_answers_long_after_the_window_mean_ingest_fell_behind() -> None:
    verdict = flat.judge(10_000, ramp(0, 0), 600_000, 84.0, aborted=False)
    assert not verdict.flat
    assert "ingest" in verdict.why


def test_an_aborted_probe_fails() -> None:
    assert not flat.judge(10_000, ramp(0, 0, 20), 200_000, 20.0, aborted=True).flat
    assert flat.should_abort(10_000, flat.ABORT_AFTER_S, 60_001)
    assert not flat.should_abort(10_000, flat.ABORT_AFTER_S - 1, 1e9)


def verdict(rate: float, ok: bool, applied: float = 0.0) -> flat.Verdict:
    return flat.Verdict(rate, rate, 0.0 if ok else rate - applied, 0.0, 60.0, ok, "")


def test_next_rate_steps_up_after_success_then_bisects() -> None:
    assert flat.next_rate([verdict(10_000, True)]) == 12_000
    assert flat.next_rate([verdict(10_000, True), verdict(12_000, False, 11_000)]) == 11_000


def test_next_rate_drops_below_what_was_applied_when_nothing_passed() -> None:
    assert flat.next_rate([verdict(10_000, False, 6_000)]) == 0.95 * 6_000


def test_resolved_within_ten_percent() -> None:
    assert flat.resolved([verdict(10_000, True), verdict(10_500, False, 9_000)])
    assert not flat.resolved([verdict(10_000, True), verdict(12_000, False, 9_000)])
    assert not flat.resolved([verdict(10_000, False, 9_000)])


def test_a_search_without_a_flat_rate_goes_on_past_its_time() -> None:
    """The last bench's two-replica search ended after two failed probes and reported 0."""
    found = Search(2, [verdict(33_870, False, 22_000), verdict(21_069, False, 20_409)])
    assert not _spent(found, left=-100.0)
    found.tried += [verdict(19_000, False, 18_000)] * (MAX_PROBES - 2)
    assert _spent(found, left=1_000.0)
    with_flat = Search(2, [verdict(19_389, True)])
    assert _spent(with_flat, left=10.0)
    assert not _spent(with_flat, left=flat.WINDOW_S + 30)
