"""The version of the strategy contract goals last published every node in.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
S = "goals"


def upgrade() -> None:
    op.create_table(
        "contract_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("published_version", sa.Integer(), nullable=False),
        schema=S,
    )
    op.execute(f"INSERT INTO {S}.contract_state (id, published_version) VALUES (1, 1)")


def downgrade() -> None:
    op.drop_table("contract_state", schema=S)
