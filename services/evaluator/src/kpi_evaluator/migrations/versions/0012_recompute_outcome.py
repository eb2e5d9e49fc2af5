"""How a recompute job finished (docs/evaluator.md, "Recomputation"): `outcome` is
`recomputed`, `no_events` (the archive held no event of its KPIs' metrics: nothing to fold)
or `merged` (done by the job `merged_into`, which lists it in `absorbed`). Jobs finished
before this migration were all recomputed.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """ALTER TABLE evaluator.recompute_jobs
           ADD COLUMN outcome text CHECK (outcome IN ('recomputed', 'no_events', 'merged')),
           ADD COLUMN merged_into bigint,
           ADD COLUMN absorbed bigint[] NOT NULL DEFAULT '{}'"""
    )
    op.execute("UPDATE evaluator.recompute_jobs SET outcome = 'recomputed' WHERE state = 'done'")


def downgrade() -> None:
    op.execute(
        """ALTER TABLE evaluator.recompute_jobs
           DROP COLUMN outcome, DROP COLUMN merged_into, DROP COLUMN absorbed"""
    )
