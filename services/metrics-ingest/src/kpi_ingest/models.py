"""Tables of the metrics-ingest service, all in the `ingest` Postgres schema."""

from kpi_common.db import service_metadata
from kpi_common.outbox import outbox_table
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from kpi_ingest.config import SCHEMA

metadata = service_metadata(SCHEMA)
outbox = outbox_table(metadata)

tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("slug", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(200), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("key_hash", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("revision", Integer, nullable=False, server_default="1"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# One row per event id accepted for a tenant, kept for the dedup horizon.
seen_events = Table(
    "seen_events",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "event_id"),
    Index("ix_seen_events_seen_at", "seen_at"),
)

sources = Table(
    "sources",
    metadata,
    Column("source_id", String(100), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("definition", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Signatures already accepted, so a replayed webhook delivery is refused.
source_signatures = Table(
    "source_signatures",
    metadata,
    Column("source_id", String(100), nullable=False),
    Column("signature", String(200), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("source_id", "signature"),
)

source_rejects = Table(
    "source_rejects",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("source_id", String(100), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_source_rejects_source", "source_id", "id"),
)
