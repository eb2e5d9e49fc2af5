"""`evaluator.nodes.contract`: the `goals.changes` contract version a stored definition
follows. Rows stored before are v1 (the document entry as written); the evaluator reads
only v2 rows, and a v2 at the same revision replaces a v1 row (docs/events.md, "Migration
from v1").

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE evaluator.nodes ADD COLUMN contract smallint NOT NULL DEFAULT 1")


def downgrade() -> None:
    op.execute("ALTER TABLE evaluator.nodes DROP COLUMN contract")
