"""The notifier's tables: its copy of the strategy, API keys, consumer offsets, breaches,
the delivery log, silences and held reviews.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

S = "notifier"
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("node_type", sa.String(32), nullable=False),
        sa.Column("node_id", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("definition", JSONB(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "node_type", "node_id", name="pk_nodes"),
        schema=S,
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(100), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("unit_scope", sa.String(200), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default="false"),
        schema=S,
    )
    op.create_table(
        "consumer_offsets",
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("topic", "partition", name="pk_consumer_offsets"),
        schema=S,
    )
    _breaches()
    _deliveries()
    _silences_and_reviews()


def _breaches() -> None:
    op.create_table(
        "breaches",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("breach_id", sa.String(200), nullable=False),
        sa.Column("kpi_id", sa.String(200), nullable=False),
        sa.Column("unit_id", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("perspective", sa.String(64), nullable=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("facts", JSONB(), nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("resolved_at", TZ, nullable=True),
        sa.Column("acked_at", TZ, nullable=True),
        sa.Column("acked_by", sa.String(100), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("escalated_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "breach_id", name="pk_breaches"),
        schema=S,
    )


def _deliveries() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("dedup_key", sa.String(600), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel_kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("breach_id", sa.String(200), nullable=True),
        sa.Column("context", JSONB(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("lease_until", TZ, nullable=True),
        sa.Column("redelivered", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("suppressed_by", sa.String(64), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sent_at", TZ, nullable=True),
        sa.UniqueConstraint("tenant_id", "dedup_key", name="uq_deliveries_tenant_id"),
        schema=S,
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"], schema=S)


def _silences_and_reviews() -> None:
    op.create_table(
        "silences",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("matchers", JSONB(), nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=True),
        schema=S,
    )
    op.create_table(
        "reviews_held",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("review_id", sa.String(200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("held_at", TZ, nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "review_id", "due_date", name="pk_reviews_held"),
        schema=S,
    )


def downgrade() -> None:
    for table in ("reviews_held", "silences", "deliveries", "breaches", "consumer_offsets"):
        op.drop_table(table, schema=S)
    op.drop_table("api_keys", schema=S)
    op.drop_table("nodes", schema=S)
