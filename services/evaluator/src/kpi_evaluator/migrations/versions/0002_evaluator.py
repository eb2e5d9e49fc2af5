"""The evaluator's own copy of the strategy, API keys, consumer offsets, seen events,
aggregation buckets and KPI status with breach state.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE evaluator.nodes (
    tenant_id text NOT NULL,
    node_type text NOT NULL,
    node_id text NOT NULL,
    revision integer NOT NULL,
    definition jsonb,
    deleted boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, node_type, node_id)
);
CREATE TABLE evaluator.tenants (
    tenant_id text PRIMARY KEY,
    slug text,
    strategy_version bigint NOT NULL DEFAULT 0
);
CREATE TABLE evaluator.api_keys (
    key_id text PRIMARY KEY,
    tenant_id text NOT NULL,
    key_hash text NOT NULL UNIQUE,
    role text NOT NULL,
    unit_scope text,
    revoked boolean NOT NULL DEFAULT false
);
CREATE TABLE evaluator.consumer_offsets (
    group_id text NOT NULL,
    topic text NOT NULL,
    partition integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
);
CREATE TABLE evaluator.seen_events (
    tenant_id text NOT NULL,
    event_id text NOT NULL,
    metric text NOT NULL,
    value double precision NOT NULL,
    event_time timestamptz NOT NULL,
    dimensions jsonb NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX ix_seen_events_metric ON evaluator.seen_events (tenant_id, metric, event_time);
CREATE TABLE evaluator.buckets (
    tenant_id text NOT NULL,
    kpi_id text NOT NULL,
    component text NOT NULL,
    period_key text NOT NULL,
    count bigint NOT NULL,
    total double precision NOT NULL,
    min double precision NOT NULL,
    max double precision NOT NULL,
    last_value double precision NOT NULL,
    last_time timestamptz NOT NULL,
    last_id text NOT NULL,
    PRIMARY KEY (tenant_id, kpi_id, component, period_key)
);
CREATE TABLE evaluator.kpi_seen (
    tenant_id text NOT NULL,
    kpi_id text NOT NULL,
    last_received_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, kpi_id)
);
CREATE TABLE evaluator.kpi_status (
    tenant_id text NOT NULL,
    kpi_id text NOT NULL,
    period_key text NOT NULL,
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL,
    actual double precision,
    target double precision,
    expected double precision,
    forecast double precision,
    status text NOT NULL,
    score double precision,
    evaluated_at timestamptz NOT NULL,
    pending_since timestamptz,
    recover_since timestamptz,
    breach_id text,
    breach_opened_at timestamptz,
    breach_seq integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, kpi_id, period_key)
);
CREATE INDEX ix_kpi_status_period ON evaluator.kpi_status (tenant_id, period_start);
"""

VIEWS = """
CREATE VIEW evaluator.v_kpi_status AS
SELECT s.tenant_id, s.kpi_id, n.definition->>'title' AS title, n.definition->>'unit' AS unit,
       n.definition->>'perspective' AS perspective, s.period_key, s.period_start, s.period_end,
       s.actual, s.target, s.expected, s.forecast, s.status, s.score, s.evaluated_at,
       s.breach_id IS NOT NULL AS breached
FROM evaluator.kpi_status s
JOIN evaluator.nodes n ON n.tenant_id = s.tenant_id AND n.node_type = 'kpi'
     AND n.node_id = s.kpi_id AND NOT n.deleted
WHERE s.period_start <= now() AND now() < s.period_end;
CREATE VIEW evaluator.v_kpi_series AS
SELECT s.tenant_id, s.kpi_id, s.period_key, s.period_start AS time, s.period_end,
       s.actual, s.target, s.expected, s.forecast, s.status, s.score
FROM evaluator.kpi_status s;
"""


def _run(script: str) -> None:
    """One statement at a time: asyncpg prepares each statement on its own."""
    for statement in script.split(";"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    _run(TABLES)
    _run(VIEWS)


def downgrade() -> None:
    for view in ("v_kpi_series", "v_kpi_status"):
        op.execute(f"DROP VIEW evaluator.{view}")
    for table in (
        "kpi_status",
        "kpi_seen",
        "buckets",
        "seen_events",
        "consumer_offsets",
        "api_keys",
        "tenants",
        "nodes",
    ):
        op.execute(f"DROP TABLE evaluator.{table}")
