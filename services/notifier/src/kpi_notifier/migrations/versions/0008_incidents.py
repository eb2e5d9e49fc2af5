"""Incidents: breaches linked by the cascade, one open incident per group key.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

S = "notifier"


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("group_key", sa.String(200), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_by", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "incident_id", name="pk_incidents"),
        schema=S,
    )
    op.create_index(
        "ux_incidents_open_group",
        "incidents",
        ["tenant_id", "group_key"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_table(
        "incident_breaches",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("breach_id", sa.String(200), nullable=False),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "breach_id", name="pk_incident_breaches"),
        schema=S,
    )
    op.create_index(
        "ix_incident_breaches_incident",
        "incident_breaches",
        ["tenant_id", "incident_id"],
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("incident_breaches", schema=S)
    op.drop_table("incidents", schema=S)
