"""Tenants and API keys learned from goals.changes, the dedup window, sources, webhook
signatures already seen, and rejected source payloads.

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

S = "ingest"


def _now() -> sa.Column[object]:
    return sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("slug", sa.String(200), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=S,
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(200), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        _now(),
        schema=S,
    )
    op.create_table(
        "seen_events",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "event_id", name="pk_seen_events"),
        schema=S,
    )
    op.create_index("ix_seen_events_seen_at", "seen_events", ["seen_at"], schema=S)
    op.create_table(
        "sources",
        sa.Column("source_id", sa.String(100), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("definition", JSONB(), nullable=False),
        _now(),
        schema=S,
    )
    op.create_table(
        "source_signatures",
        sa.Column("source_id", sa.String(100), nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source_id", "signature", name="pk_source_signatures"),
        schema=S,
    )
    op.create_table(
        "source_rejects",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("source_id", sa.String(100), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_index("ix_source_rejects_source", "source_rejects", ["source_id", "id"], schema=S)


def downgrade() -> None:
    for table in ("source_rejects", "source_signatures", "sources", "seen_events"):
        op.drop_table(table, schema=S)
    op.drop_table("api_keys", schema=S)
    op.drop_table("tenants", schema=S)
