"""The topic registry: every topic, who produces it, who consumes it, and how it is keyed."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    producer: str
    consumers: tuple[str, ...]
    key: str
    event_types: tuple[str, ...]
    description: str

    def qualified(self, prefix: str) -> str:
        """The topic name on the broker: `prefix` lets several deployments share one cluster."""
        return f"{prefix}{self.name}"


METRICS_EVENTS = Topic(
    name="metrics.events",
    producer="metrics-ingest",
    consumers=("evaluator",),
    key="tenant_id:metric",
    event_types=("metric.observed",),
    description="Accepted metric events, keyed so one partition owns a metric.",
)
METRICS_DEAD_LETTER = Topic(
    name="metrics.dead-letter",
    producer="metrics-ingest",
    consumers=(),
    key="tenant_id:source_id",
    event_types=("metric.rejected",),
    description="Payloads that could not be turned into metric events, with the reason.",
)
GOALS_CHANGES = Topic(
    name="goals.changes",
    producer="goals",
    consumers=("evaluator", "notifier", "metrics-ingest"),
    key="tenant_id:node_type:node_id",
    event_types=(
        "tenant.created",
        "apikey.upserted",
        "node.upserted",
        "node.deleted",
    ),
    description="Every change of the strategy cascade, tenants and API keys, in order per key.",
)
KPI_STATUS = Topic(
    name="kpi.status",
    producer="evaluator",
    consumers=("notifier",),
    key="tenant_id:kpi_id",
    event_types=("kpi.status.changed",),
    description="A KPI's evaluated state for a period whenever it changes.",
)
KPI_BREACHES = Topic(
    name="kpi.breaches",
    producer="evaluator",
    consumers=("notifier",),
    key="tenant_id:kpi_id",
    event_types=(
        "kpi.breach.opened",
        "kpi.breach.resolved",
        "kpi.burn_rate.fired",
        "kpi.burn_rate.resolved",
    ),
    description="Breach and burn-rate transitions, each with a stable id and the so-that chain.",
)
NOTIFICATIONS_SENT = Topic(
    name="notifications.sent",
    producer="notifier",
    consumers=(),
    key="tenant_id:dedup_key",
    event_types=("notification.sent",),
    description="A record of every delivered notification.",
)
DEAD_LETTER = Topic(
    name="consumers.dead-letter",
    producer="any consumer",
    consumers=(),
    key="source topic:partition",
    event_types=("message.dead_lettered",),
    description="Messages a consumer could never process, with the reason and the raw bytes.",
)

ALL_TOPICS: tuple[Topic, ...] = (
    METRICS_EVENTS,
    METRICS_DEAD_LETTER,
    GOALS_CHANGES,
    KPI_STATUS,
    KPI_BREACHES,
    NOTIFICATIONS_SENT,
    DEAD_LETTER,
)
