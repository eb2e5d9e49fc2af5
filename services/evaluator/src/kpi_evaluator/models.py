"""Tables of the evaluator service, all in the `evaluator` Postgres schema."""

from kpi_common.db import service_metadata
from kpi_common.outbox import outbox_table
from sqlalchemy import Boolean, Column, Integer, Table, Text

from kpi_evaluator.config import SCHEMA

metadata = service_metadata(SCHEMA)
outbox = outbox_table(metadata)

# Keys learned from goals.changes (created by migration 0002; `revision` by 0005).
api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("key_hash", Text, nullable=False, unique=True),
    Column("role", Text, nullable=False),
    Column("unit_scope", Text),
    Column("revoked", Boolean, nullable=False, server_default="false"),
    Column("revision", Integer, nullable=False, server_default="1"),
)
