"""Tables of the notifier service, all in the `notifier` Postgres schema."""

from kpi_common.db import service_metadata
from kpi_common.outbox import outbox_table
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from kpi_notifier.config import SCHEMA

metadata = service_metadata(SCHEMA)
outbox = outbox_table(metadata)


def _now_column(name: str) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())


# The notifier's copy of goals.changes nodes: newer (revision, contract) only; deletions
# kept as tombstones so a late, older upsert cannot bring a node back. `contract` is the
# `node.upserted` version the definition came in (1: the entry as written, no longer read).
nodes = Table(
    "nodes",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("node_type", String(32), nullable=False),
    Column("node_id", String(200), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("contract", Integer, nullable=False, server_default="1"),
    Column("definition", JSONB, nullable=True),
    Column("deleted", Boolean, nullable=False, server_default="false"),
    _now_column("updated_at"),
    PrimaryKeyConstraint("tenant_id", "node_type", "node_id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(100), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("key_hash", String(100), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("unit_scope", String(200), nullable=True),
    Column("revoked", Boolean, nullable=False, server_default="false"),
    Column("revision", Integer, nullable=False, server_default="1"),
)

# Where the consumer is, stored in the same transaction as what it did.
consumer_offsets = Table(
    "consumer_offsets",
    metadata,
    Column("topic", String(255), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("next_offset", BigInteger, nullable=False),
    PrimaryKeyConstraint("topic", "partition"),
)

breaches = Table(
    "breaches",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("breach_id", String(200), nullable=False),
    Column("kpi_id", String(200), nullable=False),
    Column("unit_id", String(200), nullable=False),
    Column("owner", String(200), nullable=True),
    Column("perspective", String(64), nullable=True),
    Column("severity", String(16), nullable=False),
    Column("facts", JSONB, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("acked_at", DateTime(timezone=True), nullable=True),
    Column("acked_by", String(100), nullable=True),
    Column("reminders_sent", Integer, nullable=False, server_default="0"),
    Column("escalated_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("tenant_id", "breach_id"),
)

# One row per dedup key, written before anything is sent. status: pending -> sending ->
# sent | dead; `suppressed` when a silence matched. `redelivered` counts sends that may
# have reached the recipient before a crash and were made again.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("dedup_key", String(600), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("channel_kind", String(16), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("breach_id", String(200), nullable=True),
    Column("context", JSONB, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("redelivered", Integer, nullable=False, server_default="0"),
    Column("suppressed_by", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("resent_at", DateTime(timezone=True), nullable=True),
    Column("resent_by", String(64), nullable=True),
    Column("resends", Integer, nullable=False, server_default="0"),
    UniqueConstraint("tenant_id", "dedup_key"),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
)

silences = Table(
    "silences",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("tenant_id", String(64), nullable=False, index=True),
    Column("matchers", JSONB, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("comment", Text, nullable=True),
    Column("created_by", String(100), nullable=True),
)

reviews_held = Table(
    "reviews_held",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("review_id", String(200), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("held_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", String(100), nullable=True),
    PrimaryKeyConstraint("tenant_id", "review_id", "due_date"),
)

# The latest `kpi.status.changed` of each KPI, for the weekly scorecard digest.
kpi_status = Table(
    "kpi_status",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("kpi_id", String(200), nullable=False),
    Column("facts", JSONB, nullable=False),
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "kpi_id"),
)

# Units whose owner opted in to a weekly scorecard digest.
scorecard_subscriptions = Table(
    "scorecard_subscriptions",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("unit_id", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(100), nullable=True),
    PrimaryKeyConstraint("tenant_id", "unit_id"),
)

# What `mode: shadow` routes and transitions would have sent (kpi_notifier.shadow): one row
# per dedup key, never sent; rows older than KPI_NOTIFIER_SHADOW_RETENTION_DAYS are pruned
# by the ticker. `route` is the shadow route's position (null for a shadow transition).
shadow_log = Table(
    "shadow_log",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("dedup_key", String(600), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("route", Integer, nullable=True),
    Column("channel_kind", String(16), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("breach_id", String(200), nullable=True),
    Column("context", JSONB, nullable=False),
    Column("suppressed_by", String(64), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "dedup_key"),
    Index("ix_shadow_log_recorded", "tenant_id", "recorded_at"),
)

# Incidents (docs/notifier.md#incidents): breaches linked by the cascade, one open incident
# per (tenant, group key: the top KPI of the `contributes_to` chain) at a time.
incidents = Table(
    "incidents",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("incident_id", String(64), nullable=False),
    Column("group_key", String(200), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("acked_at", DateTime(timezone=True), nullable=True),
    Column("acked_by", String(100), nullable=True),
    PrimaryKeyConstraint("tenant_id", "incident_id"),
    Index(
        "ux_incidents_open_group",
        "tenant_id",
        "group_key",
        unique=True,
        postgresql_where=text("resolved_at IS NULL"),
    ),
)

# Which incident a breach belongs to (at most one).
incident_breaches = Table(
    "incident_breaches",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("breach_id", String(200), nullable=False),
    Column("incident_id", String(64), nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "breach_id"),
    Index("ix_incident_breaches_incident", "tenant_id", "incident_id"),
)
