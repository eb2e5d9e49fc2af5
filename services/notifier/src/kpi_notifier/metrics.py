"""The notifier's Prometheus metrics (`notifier_<noun>_<unit>`, labels bounded)."""

from prometheus_client import Counter, Histogram

SENT = Counter("notifier_notifications_sent_total", "Notifications delivered", ["channel", "kind"])
FAILURES = Counter("notifier_delivery_failures_total", "Failed delivery attempts", ["channel"])
DEAD = Counter("notifier_deliveries_dead_total", "Deliveries given up (dead letters)", ["channel"])
RATE_LIMITED = Counter("notifier_rate_limited_total", "Sends answered 429", ["channel"])
REDELIVERED = Counter(
    "notifier_deliveries_redelivered_total",
    "Sends repeated because a sender died between sending and recording (at most one each)",
)
PLANNED = Counter("notifier_deliveries_planned_total", "Deliveries recorded", ["kind", "status"])
SEND_SECONDS = Histogram(
    "notifier_send_duration_seconds",
    "Time to hand one notification to its channel",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DEAD_LETTERED = Counter(
    "notifier_events_dead_lettered_total", "Consumed events that could never be applied"
)
SUPERSEDED = Counter(
    "notifier_events_superseded_total",
    "node.upserted v1 events ignored: goals republishes every live node as v2",
)
SHADOWED = Counter(
    "notifier_deliveries_shadowed_total",
    "Deliveries of shadow routes and transitions recorded in the shadow log, never sent",
    ["kind"],
)
