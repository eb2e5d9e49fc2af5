"""A revision per API key (`apikey.upserted` v2), so the newest wins under the rule every
service shares (kpi_common.apikeys.upsert_key). Keys stored so far came from v1: a revoked
one is revision 2 (its revocation), any other revision 1 (its creation).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "ingest"


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column("revision", sa.Integer(), nullable=False, server_default="1"),
        schema=S,
    )
    op.execute(f"UPDATE {S}.api_keys SET revision = 2 WHERE revoked")


def downgrade() -> None:
    op.drop_column("api_keys", "revision", schema=S)
