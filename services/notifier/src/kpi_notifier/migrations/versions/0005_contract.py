"""The contract version of each stored node (`node.upserted` v1 or v2): the rows stored so
far came in v1; a v2 at the same revision replaces them.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

S = "notifier"


def upgrade() -> None:
    op.add_column(
        "nodes",
        sa.Column("contract", sa.Integer(), nullable=False, server_default="1"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_column("nodes", "contract", schema=S)
