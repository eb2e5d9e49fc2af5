"""Seen events keep only their id: the dedup insert is the hottest statement of a batch,
and the archive columns more than halved its speed.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS evaluator.ix_seen_events_metric")
    op.execute(
        "ALTER TABLE evaluator.seen_events DROP COLUMN metric, DROP COLUMN value, "
        "DROP COLUMN event_time, DROP COLUMN dimensions, DROP COLUMN received_at"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE evaluator.seen_events ADD COLUMN metric text, ADD COLUMN value float8, "
        "ADD COLUMN event_time timestamptz, ADD COLUMN dimensions jsonb, "
        "ADD COLUMN received_at timestamptz"
    )
