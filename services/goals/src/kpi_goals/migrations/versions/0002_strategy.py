"""Tenants, API keys, the strategy nodes and their history.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
S = "goals"
NOW = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("slug", sa.String(63), nullable=False, unique=True),
        sa.Column("created_at", NOW, nullable=False),
        schema=S,
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey(f"{S}.tenants.id"), nullable=False),
        sa.Column("key_hash", sa.String(80), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("unit_scope", sa.String(100)),
        sa.Column("name", sa.String(200)),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", NOW, nullable=False),
        schema=S,
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"], schema=S)
    op.create_table(
        "nodes",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey(f"{S}.tenants.id"), primary_key=True),
        sa.Column("node_type", sa.String(32), primary_key=True),
        sa.Column("node_id", sa.String(100), primary_key=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON()),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", NOW, nullable=False),
        schema=S,
    )
    op.create_table(
        "node_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey(f"{S}.tenants.id"), nullable=False),
        sa.Column("node_type", sa.String(32), nullable=False),
        sa.Column("node_id", sa.String(100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("definition", sa.JSON()),
        sa.Column("before", sa.JSON()),
        sa.Column("key_id", sa.String(40)),
        sa.Column("reason", sa.String(2000)),
        sa.Column("changed_at", NOW, nullable=False),
        schema=S,
    )
    op.create_index(
        "ix_node_history_node",
        "node_history",
        ["tenant_id", "node_type", "node_id", "revision"],
        schema=S,
    )


def downgrade() -> None:
    for table in ("node_history", "nodes", "api_keys", "tenants"):
        op.drop_table(table, schema=S)
