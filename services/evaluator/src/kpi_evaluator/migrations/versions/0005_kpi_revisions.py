"""Revisions of closed periods: each change of a closed period's actual, with the old and
new value, when and why (late events, a definition change, a recompute) and the id of the
run that caused it.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE evaluator.kpi_revisions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL,
    kpi_id text NOT NULL,
    period_key text NOT NULL,
    old_actual double precision,
    new_actual double precision,
    revised_at timestamptz NOT NULL,
    reason text NOT NULL
        CHECK (reason IN ('late_events', 'definition_change', 'recompute')),
    restatement_id text NOT NULL
)
""")
    op.execute(
        "CREATE INDEX ix_kpi_revisions_period ON evaluator.kpi_revisions "
        "(tenant_id, kpi_id, period_key)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE evaluator.kpi_revisions")
