"""The archive fill: what an upgraded installation consumed before it had an archive.

An installation that consumed `metrics.events` before the archive existed (migration 0008)
has stored offsets but an archive without those events, so a recompute would drop them. This
migration marks a fill for each metrics consumer group with stored offsets: one row of
`archive_fills` (the marker; `finished_at` set when the fill is done) and one row per
partition in `archive_fill_partitions`, with the stored offset it fills up to and the fill's
progress. A fresh installation has no stored offsets, so no marker: nothing to fill.
The service does the fill (docs/evaluator.md, "Upgrading").

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FILLS = """
CREATE TABLE evaluator.archive_fills (
    group_id text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
)
"""

PARTITIONS = """
CREATE TABLE evaluator.archive_fill_partitions (
    group_id text NOT NULL REFERENCES evaluator.archive_fills ON DELETE CASCADE,
    topic text NOT NULL,
    partition integer NOT NULL,
    until_offset bigint NOT NULL,
    next_offset bigint NOT NULL DEFAULT 0,
    not_retained bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, topic, partition)
)
"""

# the metrics groups' offsets: their topic is `<prefix>metrics.events`
STORED = """
FROM evaluator.consumer_offsets
WHERE right(topic, 14) = 'metrics.events' AND next_offset > 0
"""


def upgrade() -> None:
    op.execute(FILLS)
    op.execute(PARTITIONS)
    op.execute(f"INSERT INTO evaluator.archive_fills (group_id) SELECT DISTINCT group_id {STORED}")
    op.execute(
        "INSERT INTO evaluator.archive_fill_partitions (group_id, topic, partition, until_offset) "
        f"SELECT group_id, topic, partition, next_offset {STORED}"
    )


def downgrade() -> None:
    op.execute("DROP TABLE evaluator.archive_fill_partitions")
    op.execute("DROP TABLE evaluator.archive_fills")
