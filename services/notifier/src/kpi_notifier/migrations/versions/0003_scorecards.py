"""The latest status of each KPI (from kpi.status) and the opt-in weekly scorecard digests.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "notifier"


def upgrade() -> None:
    op.create_table(
        "kpi_status",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("kpi_id", sa.String(200), nullable=False),
        sa.Column("facts", JSONB(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "kpi_id", name="pk_kpi_status"),
        schema=S,
    )
    op.create_table(
        "scorecard_subscriptions",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("unit_id", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "unit_id", name="pk_scorecard_subscriptions"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("scorecard_subscriptions", schema=S)
    op.drop_table("kpi_status", schema=S)
