"""Prometheus collectors of the metrics-ingest service (created once per process).
`source` is `api` or a source kind, never a tenant's source id, so labels stay bounded."""

from prometheus_client import Counter, Histogram

EVENTS = Counter(
    "metrics_ingest_events_total",
    "Metric events by source kind and outcome (accepted, duplicate, rejected)",
    ["source", "outcome"],
)
PRODUCE_SECONDS = Histogram(
    "metrics_ingest_produce_duration_seconds",
    "Time from handing a group of requests' events to the producer until Kafka acknowledged all",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PRODUCE_FAILURES = Counter(
    "metrics_ingest_produce_failures_total", "Failed produces (every request of the group got 503)"
)
RATE_LIMITED = Counter(
    "metrics_ingest_rate_limited_total", "Requests refused with 429 by the per-key rate limit"
)
DEAD_LETTERS = Counter(
    "metrics_ingest_dead_letters_total",
    "Source payloads sent to metrics.dead-letter, by source kind",
    ["source"],
)
PRUNED = Counter(
    "metrics_ingest_pruned_total",
    "Rows deleted after their retention passed (dedup claims, webhook signatures, rejects)",
    ["table"],
)


def count(source: str, accepted: int, duplicates: int, rejected: int) -> None:
    for outcome, n in (("accepted", accepted), ("duplicate", duplicates), ("rejected", rejected)):
        if n:
            EVENTS.labels(source, outcome).inc(n)
