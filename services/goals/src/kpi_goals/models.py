"""Tables of the goals service, all in the `goals` Postgres schema.

`nodes` holds every node of every tenant's strategy, with its revision; a deleted node
keeps its row (definition NULL) so a re-created node's revision keeps growing.
"""

from kpi_common.db import service_metadata
from kpi_common.outbox import outbox_table
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Table,
    Uuid,
)

from kpi_goals.config import SCHEMA

metadata = service_metadata(SCHEMA)
outbox = outbox_table(metadata)

tenants = Table(
    "tenants",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("slug", String(63), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", Uuid, ForeignKey(tenants.c.id), nullable=False, index=True),
    Column("key_hash", String(80), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("unit_scope", String(100)),
    Column("name", String(200)),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(40)),
    Column("revoked_by", String(40)),
    Column("revoked_at", DateTime(timezone=True)),
)

nodes = Table(
    "nodes",
    metadata,
    Column("tenant_id", Uuid, ForeignKey(tenants.c.id), primary_key=True),
    Column("node_type", String(32), primary_key=True),
    Column("node_id", String(100), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("definition", JSON(none_as_null=True)),
    Column("position", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

history = Table(
    "node_history",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("tenant_id", Uuid, ForeignKey(tenants.c.id), nullable=False),
    Column("node_type", String(32), nullable=False),
    Column("node_id", String(100), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("action", String(8), nullable=False),
    Column("definition", JSON(none_as_null=True)),
    Column("before", JSON(none_as_null=True)),
    Column("key_id", String(40)),
    Column("reason", String(2000)),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index("ix_node_history_node", "tenant_id", "node_type", "node_id", "revision"),
)

contract_state = Table(
    "contract_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("published_version", Integer, nullable=False),
)
