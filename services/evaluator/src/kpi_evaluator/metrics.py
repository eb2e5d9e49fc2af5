"""Prometheus metrics of the evaluator: the pipeline (events/s, duplicates, batch time,
processing latency, consumer lag) and KPI health read from the database at scrape time.
Labels are bounded: status (6 values) and perspective (the strategy's few)."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter("evaluator_events_processed_total", "Metric events applied (first time seen)")
DUPLICATES = Counter("evaluator_events_duplicate_total", "Metric events dropped as already seen")
UNPLACEABLE = Counter(
    "evaluator_events_unplaceable_total",
    "Event/KPI pairs skipped because the event time fits no period of the calendar",
)
BATCH_SECONDS = Histogram(
    "evaluator_batch_duration_seconds",
    "Time to apply one consumer batch, offsets included",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LATENCY = Gauge(
    "evaluator_processing_latency_seconds",
    "Age of the newest applied event at commit (now minus received_at)",
)
TICK_SECONDS = Histogram(
    "evaluator_tick_duration_seconds",
    "Time of one periodic tick: every tenant's KPIs re-evaluated (current and previous period)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
TENANT_TICK_SECONDS = Histogram(
    "evaluator_tenant_tick_duration_seconds",
    "Time of one tick of some tenants only, between periodic ticks: those whose strategy "
    "changed or whose recompute finished",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TICK_CPU = Counter(
    "evaluator_tick_cpu_seconds_total",
    "Process CPU time (user + system) spent while ticks ran, periodic and per tenant (other "
    "tasks of the process too)",
)
TICK_KPIS = Gauge("evaluator_tick_kpis", "KPIs the last completed tick re-evaluated")
LAG = Gauge("evaluator_consumer_lag_messages", "Messages behind the high watermark", ["topic"])
KPIS = Gauge("evaluator_kpis", "KPIs in their current period, by status", ["status"])
SCORE = Gauge(
    "evaluator_kpi_score_ratio", "Average KPI score (0..1) by perspective", ["perspective"]
)
BREACHES = Gauge("evaluator_breaches_open", "Open breaches")
SUPERSEDED = Counter(
    "evaluator_nodes_superseded_total",
    "v1 node.upserted events ignored: goals republishes every node as v2 (docs/events.md)",
)
EXPIRED = Counter(
    "evaluator_events_expired_total",
    "Metric events not counted because their event time lies before the archive's horizon",
)
ARCHIVE_DROPPED = Counter(
    "evaluator_archive_partitions_dropped_total", "Archive partitions dropped by the retention"
)
RECOMPUTE_EVENTS = Counter(
    "evaluator_recompute_events_total", "Archived events folded again by recompute jobs"
)
RECOMPUTE_JOBS = Gauge(
    "evaluator_recompute_jobs", "Recompute jobs by state (pending, running, done)", ["state"]
)
RECOMPUTE_FINISHED = Counter(
    "evaluator_recompute_jobs_finished_total",
    "Recompute jobs finished, by outcome: recomputed, no_events (nothing archived to fold), "
    "merged (done by another job of the tenant)",
    ["outcome"],
)
FILL_REMAINING = Gauge(
    "evaluator_archive_fill_remaining_messages",
    "Offsets of metrics.events the archive fill still has to read (0: no fill, or done)",
)
FILL_EVENTS = Counter(
    "evaluator_archive_fill_events_total",
    "Events consumed before the upgrade that the archive fill archived",
)
