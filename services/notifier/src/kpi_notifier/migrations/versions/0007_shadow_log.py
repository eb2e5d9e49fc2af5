"""The shadow log: what `mode: shadow` routes and transitions would have sent.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

S = "notifier"


def upgrade() -> None:
    op.create_table(
        "shadow_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("dedup_key", sa.String(600), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("route", sa.Integer(), nullable=True),
        sa.Column("channel_kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("breach_id", sa.String(200), nullable=True),
        sa.Column("context", JSONB(), nullable=False),
        sa.Column("suppressed_by", sa.String(64), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shadow_log"),
        sa.UniqueConstraint("tenant_id", "dedup_key", name="uq_shadow_log_tenant_id"),
        schema=S,
    )
    op.create_index("ix_shadow_log_recorded", "shadow_log", ["tenant_id", "recorded_at"], schema=S)


def downgrade() -> None:
    op.drop_table("shadow_log", schema=S)
