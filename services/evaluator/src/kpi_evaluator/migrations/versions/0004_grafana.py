"""Views for Grafana (tenants, the unit tree, daily progress, open breaches, the cascade as
nodes and edges) and `kpi_grafana`, a role that can SELECT the published views and nothing
else (docs/grafana.md).

The role is cluster-wide and created NOLOGIN: the operator gives it a password from a secret
(`ALTER ROLE kpi_grafana LOGIN PASSWORD ...`, or deploy/grafana/postgres/grafana-role.sql).
When the evaluator's database user may not create roles, the migration creates nothing and
grants nothing; deploy/grafana/postgres/grafana-role.sql does both later.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ROLE = "kpi_grafana"
VIEWS = (
    "v_kpi_status",
    "v_kpi_series",
    "v_tenants",
    "v_units",
    "v_unit_tree",
    "v_kpi_progress",
    "v_kpi_breaches",
    "v_cascade_edges",
    "v_cascade_nodes",
)

TENANTS = """
CREATE VIEW evaluator.v_tenants AS
SELECT tenant_id, coalesce(slug, tenant_id) AS slug
FROM evaluator.tenants WHERE strategy_version > 0
"""

UNITS = """
CREATE VIEW evaluator.v_units AS
SELECT tenant_id, node_id AS unit_id, coalesce(definition->>'name', node_id) AS name,
       definition->>'parent' AS parent
FROM evaluator.nodes WHERE node_type = 'unit' AND NOT deleted
"""

# every (ancestor, unit) pair, a unit being its own ancestor: `unit IN subtree` filters
UNIT_TREE = """
CREATE VIEW evaluator.v_unit_tree AS
WITH RECURSIVE tree (tenant_id, ancestor, unit_id, depth) AS (
    SELECT tenant_id, unit_id, unit_id, 0 FROM evaluator.v_units
    UNION ALL
    SELECT t.tenant_id, t.ancestor, u.unit_id, t.depth + 1
    FROM tree t JOIN evaluator.v_units u ON u.tenant_id = t.tenant_id AND u.parent = t.unit_id
    WHERE t.depth < 32
)
SELECT tenant_id, ancestor, unit_id, depth FROM tree
"""

# cumulative KPIs (sum, count) within each stored period, one row per day with events: the
# running actual at the end of that day (or now, for today) and the linear expected then
PROGRESS = """
CREATE VIEW evaluator.v_kpi_progress AS
SELECT s.tenant_id, s.kpi_id, s.period_key, least(now(), d.day_end) AS time,
       sum(b.total) OVER (PARTITION BY s.tenant_id, s.kpi_id, s.period_key
                          ORDER BY b.period_key) AS actual,
       s.target,
       s.target * extract(epoch FROM least(now(), d.day_end) - s.period_start)
                / extract(epoch FROM s.period_end - s.period_start) AS expected
FROM evaluator.kpi_status s
JOIN evaluator.buckets b
  ON b.tenant_id = s.tenant_id AND b.kpi_id = s.kpi_id AND b.component = 'day'
LEFT JOIN evaluator.nodes o
  ON o.tenant_id = s.tenant_id AND o.node_type = 'organization' AND NOT o.deleted
CROSS JOIN LATERAL (
    SELECT CAST(CAST(b.period_key AS date) + 1 AS timestamp)
           AT TIME ZONE coalesce(o.definition->>'timezone', 'UTC') AS day_end
) d
WHERE d.day_end > s.period_start AND d.day_end <= s.period_end
"""

# breaches the evaluator holds open (it keeps no history of resolved ones: the notifier's
# delivery log and the kpi.breaches topic do)
BREACHES = """
CREATE VIEW evaluator.v_kpi_breaches AS
SELECT s.tenant_id, s.kpi_id, s.period_key, s.breach_id, s.breach_opened_at AS time,
       s.breach_seq, s.status, s.actual, s.target, s.expected
FROM evaluator.kpi_status s WHERE s.breach_id IS NOT NULL
"""

# parent -> child: a goal, objective or success factor to what supports it (`supports`), to
# the KPIs that serve it (`so_that`), and a KPI to the KPIs that contribute to it
EDGES = """
CREATE VIEW evaluator.v_cascade_edges AS
WITH live AS (
    SELECT tenant_id, node_type, node_id, definition FROM evaluator.nodes
    WHERE NOT deleted AND node_type IN ('goal', 'objective', 'success_factor', 'kpi')
), links AS (
    SELECT l.tenant_id, l.node_type, l.node_id, k.link, p.parent_id
    FROM live l
    CROSS JOIN LATERAL (VALUES ('supports'), ('so_that'), ('contributes_to')) AS k (link)
    CROSS JOIN LATERAL jsonb_array_elements_text(
        CASE jsonb_typeof(l.definition->k.link)
            WHEN 'array' THEN l.definition->k.link
            WHEN 'string' THEN jsonb_build_array(l.definition->k.link)
            ELSE '[]'::jsonb END) AS p (parent_id)
)
SELECT c.tenant_id,
       p.node_type || ':' || p.node_id || '>' || c.node_type || ':' || c.node_id AS id,
       p.node_type || ':' || p.node_id AS source,
       c.node_type || ':' || c.node_id AS target,
       c.link AS link
FROM links c
JOIN live p ON p.tenant_id = c.tenant_id AND p.node_id = c.parent_id
 AND (p.node_type = 'kpi') = (c.link = 'contributes_to')
"""

# each node with the KPIs below it (itself, for a KPI) in their current period: the mean
# score as mainstat and the share of each status as arc__ fields (Grafana's node graph)
NODES = """
CREATE VIEW evaluator.v_cascade_nodes AS
WITH RECURSIVE live AS (
    SELECT tenant_id, node_type, node_id, definition FROM evaluator.nodes
    WHERE NOT deleted AND node_type IN ('goal', 'objective', 'success_factor', 'kpi')
), reach (tenant_id, kpi_id, node, depth) AS (
    SELECT tenant_id, node_id, 'kpi:' || node_id, 0 FROM live WHERE node_type = 'kpi'
    UNION ALL
    SELECT r.tenant_id, r.kpi_id, e.source, r.depth + 1
    FROM reach r JOIN evaluator.v_cascade_edges e
      ON e.tenant_id = r.tenant_id AND e.target = r.node AND e.link <> 'contributes_to'
    WHERE r.depth < 32
), below AS (
    SELECT DISTINCT r.tenant_id, r.node, r.kpi_id, coalesce(s.status, 'no_data') AS status,
           s.score
    FROM reach r LEFT JOIN evaluator.v_kpi_status s
      ON s.tenant_id = r.tenant_id AND s.kpi_id = r.kpi_id
), stats AS (
    SELECT tenant_id, node, count(*) AS kpis, avg(score) AS score,
           avg(CASE WHEN status = 'achieved' THEN 1.0 ELSE 0 END) AS achieved,
           avg(CASE WHEN status = 'on_track' THEN 1.0 ELSE 0 END) AS on_track,
           avg(CASE WHEN status = 'at_risk' THEN 1.0 ELSE 0 END) AS at_risk,
           avg(CASE WHEN status = 'off_track' THEN 1.0 ELSE 0 END) AS off_track
    FROM below GROUP BY tenant_id, node
)
SELECT l.tenant_id, l.node_type || ':' || l.node_id AS id, l.node_type, l.node_id,
       coalesce(l.definition->>'title', l.node_id) AS title,
       replace(l.node_type, '_', ' ') || coalesce(' · ' || (l.definition->>'unit'), '')
           AS subtitle,
       l.definition->>'unit' AS unit,
       st.score AS mainstat,
       coalesce(st.kpis, 0) || ' KPI' || CASE WHEN st.kpis = 1 THEN '' ELSE 's' END
           AS secondarystat,
       coalesce(st.achieved, 0) AS arc__achieved,
       coalesce(st.on_track, 0) AS arc__on_track,
       coalesce(st.at_risk, 0) AS arc__at_risk,
       coalesce(st.off_track, 0) AS arc__off_track,
       1 - coalesce(st.achieved + st.on_track + st.at_risk + st.off_track, 0) AS arc__no_data
FROM live l
LEFT JOIN stats st ON st.tenant_id = l.tenant_id AND st.node = l.node_type || ':' || l.node_id
"""

ROLE_AND_GRANTS = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
        IF NOT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
            RAISE NOTICE 'role {ROLE} not created: run deploy/grafana/postgres/grafana-role.sql';
            RETURN;
        END IF;
        BEGIN
            CREATE ROLE {ROLE} NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database's migration created it at the same moment
        END;
    END IF;
    BEGIN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO {ROLE}', current_database());
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'CONNECT not granted to {ROLE}: not the database owner';
    END;
    GRANT USAGE ON SCHEMA evaluator TO {ROLE};
    GRANT SELECT ON {", ".join(f"evaluator.{v}" for v in VIEWS)} TO {ROLE};
END
$$
"""

REVOKE = f"""
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
        REVOKE ALL ON SCHEMA evaluator FROM {ROLE};
        REVOKE ALL ON {", ".join(f"evaluator.{v}" for v in VIEWS)} FROM {ROLE};
    END IF;
END
$$
"""


def upgrade() -> None:
    for view in (TENANTS, UNITS, UNIT_TREE, PROGRESS, BREACHES, EDGES, NODES):
        op.execute(view)
    op.execute(ROLE_AND_GRANTS)


def downgrade() -> None:
    op.execute(REVOKE)
    for view in reversed(VIEWS[2:]):
        op.execute(f"DROP VIEW evaluator.{view}")
