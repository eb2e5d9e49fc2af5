"""Who issued and who revoked each API key, and when (the key audit).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
S = "goals"


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("created_by", sa.String(40)), schema=S)
    op.add_column("api_keys", sa.Column("revoked_by", sa.String(40)), schema=S)
    op.add_column("api_keys", sa.Column("revoked_at", sa.DateTime(timezone=True)), schema=S)


def downgrade() -> None:
    for column in ("revoked_at", "revoked_by", "created_by"):
        op.drop_column("api_keys", column, schema=S)
