"""Who asked to resend a dead notification, when, and how often (the resend audit).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

S = "notifier"


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("resent_at", sa.DateTime(timezone=True)), schema=S)
    op.add_column("deliveries", sa.Column("resent_by", sa.String(64)), schema=S)
    op.add_column(
        "deliveries",
        sa.Column("resends", sa.Integer(), nullable=False, server_default="0"),
        schema=S,
    )


def downgrade() -> None:
    for column in ("resends", "resent_by", "resent_at"):
        op.drop_column("deliveries", column, schema=S)
