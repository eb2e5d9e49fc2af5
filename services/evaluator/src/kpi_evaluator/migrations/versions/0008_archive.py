"""The archive of consumed events and the recompute jobs; `seen_events` goes.

`evaluator.events` keeps every event the evaluator consumed, partitioned by month of event
time (declarative range partitioning: retention drops whole partitions; partitions are
created on demand by the service, so none is created here). Its primary key, which must hold
the partition key, is the event's identity for dedup: tenant, metric, id and event time.
`recompute_jobs` lists the recomputations asked for by strategy changes and operators.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ARCHIVE = """
CREATE TABLE evaluator.events (
    tenant_id text NOT NULL,
    metric text NOT NULL,
    event_id text NOT NULL,
    event_time timestamptz NOT NULL,
    value double precision NOT NULL,
    dimensions jsonb NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, metric, event_id, event_time)
) PARTITION BY RANGE (event_time)
"""

JOBS = """
CREATE TABLE evaluator.recompute_jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL,
    kpi_ids text[] NOT NULL,
    reason text NOT NULL,
    state text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    events_done bigint NOT NULL DEFAULT 0,
    events_total bigint,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
)
"""


def upgrade() -> None:
    op.execute(ARCHIVE)
    op.execute(JOBS)
    op.execute(
        "CREATE INDEX ix_recompute_jobs_open ON evaluator.recompute_jobs (id) WHERE state <> 'done'"
    )
    op.execute("CREATE INDEX ix_recompute_jobs_tenant ON evaluator.recompute_jobs (tenant_id, id)")
    op.execute("DROP TABLE evaluator.seen_events")


def downgrade() -> None:
    op.execute(
        "CREATE TABLE evaluator.seen_events (tenant_id text NOT NULL, event_id text NOT NULL, "
        "PRIMARY KEY (tenant_id, event_id))"
    )
    op.execute("DROP TABLE evaluator.recompute_jobs")
    op.execute("DROP TABLE evaluator.events")
