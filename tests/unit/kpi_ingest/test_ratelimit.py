from kpi_ingest.ratelimit import RateLimiter


def test_bucket_allows_the_burst_then_refills_at_the_rate() -> None:
    limiter = RateLimiter(rate=10, burst=20)
    assert limiter.take("k", 20, now=100.0) == 0
    assert limiter.take("k", 5, now=100.0) == 0.5
    assert limiter.take("k", 5, now=100.5) == 0
    assert limiter.take("other", 20, now=100.5) == 0


def test_a_request_larger_than_the_burst_is_charged_the_burst() -> None:
    limiter = RateLimiter(rate=1, burst=5)
    assert limiter.take("k", 50, now=0.0) == 0
    assert limiter.take("k", 1, now=0.0) == 1.0
