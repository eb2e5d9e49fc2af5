"""What arrived per metric name, for data health (docs/evaluator.md, "Data health").

`metric_arrivals` holds, per tenant and metric name, how many events arrived (first time
archived), when the first and the last were received, and from which source the last came;
the consumer upserts it in bulk, one statement per batch. It is filled here from the archive
once, so metrics that arrived before this migration are known (the archive does not keep the
source: `last_source_id` stays empty until the metric's next event).

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLE = """
CREATE TABLE evaluator.metric_arrivals (
    tenant_id text NOT NULL,
    metric text NOT NULL,
    events bigint NOT NULL,
    first_received_at timestamptz NOT NULL,
    last_received_at timestamptz NOT NULL,
    last_source_id text,
    PRIMARY KEY (tenant_id, metric)
)
"""

BACKFILL = """
INSERT INTO evaluator.metric_arrivals
    (tenant_id, metric, events, first_received_at, last_received_at)
SELECT tenant_id, metric, count(*), min(received_at), max(received_at)
FROM evaluator.events GROUP BY tenant_id, metric
"""


def upgrade() -> None:
    op.execute(TABLE)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("DROP TABLE evaluator.metric_arrivals")
