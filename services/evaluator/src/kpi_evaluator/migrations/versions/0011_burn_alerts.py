"""Burn-rate alert state beside each KPI period's status (docs/evaluator.md, "Burn-rate
alerts"): per rule key, the alert sequence number and an open alert's id, time and rule.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE evaluator.kpi_status ADD COLUMN burn jsonb NOT NULL DEFAULT '{}'")


def downgrade() -> None:
    op.execute("ALTER TABLE evaluator.kpi_status DROP COLUMN burn")
