"""Every query of every provisioned Grafana dashboard returns data after real traffic: the four
services run as processes, a real Prometheus scrapes them with the deployed configuration,
and the SQL runs as the read-only Grafana role, which is refused everything but the views."""

import asyncio
import secrets
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
import yaml

from tests.conftest import Infra, _psql, _with_database
from tests.support import grafana
from tests.support.acme_stack import Tenant, running_stack
from tests.support.prometheus import PrometheusServer, running_prometheus
from tests.support.strategy_events import ACME

pytestmark = pytest.mark.e2e

PSQL_SCRIPT = grafana.GRAFANA / "postgres" / "grafana-role.psql"


@pytest.fixture
def database_url(infra: Infra, unique: str) -> Iterator[str]:
    name = f"kpi_dash_{unique}"
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def reader(database_url: str, unique: str) -> Iterator[tuple[str, str]]:
    """A login role made by the documented setup script (its name is this test's own, as roles
    are shared by every database of the cluster)."""
    role, password = f"kpi_grafana_t{unique}", secrets.token_urlsafe(16)
    yield role, password
    _psql(
        database_url,
        f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
        f"DROP OWNED BY {role}; DROP ROLE {role}; END IF; END $$",
    )


def run_setup_script(url: str, role: str, password: str) -> None:
    subprocess.run(
        [
            "psql",
            url,
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            f"role={role}",
            "-v",
            f"password={password}",
            "-f",
            str(PSQL_SCRIPT),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def deployed_rules() -> int:
    files = sorted((grafana.ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
    return sum(len(g["rules"]) for f in files for g in yaml.safe_load(f.read_text())["groups"])


async def sql_has_rows(conn: asyncpg.Connection, query: str) -> bool:
    return bool(await conn.fetch(query))


def concrete(q: grafana.Query, values: dict[str, str], window: tuple[datetime, datetime]) -> str:
    text = grafana.substitute(grafana.sql_macros(q.text, *window), values)
    assert not grafana.variables(text), f"{q.dashboard} {q.where}: left {text}"
    return text


def prom_values(start: float, end: float) -> dict[str, str]:
    return {"__rate_interval": "10s", "__interval": "2s", "__range": f"{int(end - start)}s"}


async def empty_queries(
    prom: PrometheusServer, conn: asyncpg.Connection, values: dict[str, str], started: float
) -> list[str]:
    """Every dashboard query that gives no data, named."""
    empty = []
    now = datetime.now(UTC)
    for name, board in grafana.dashboards().items():
        window = grafana.time_range(board, now)
        for q in grafana.queries(name, board):
            if q.datasource == "kpi-prometheus":
                end = time.time()
                text = concrete(q, {**values, **prom_values(started, end)}, window)
                ok = prom.has_data(text, start=started, end=end, instant=q.instant)
            else:
                ok = await sql_has_rows(conn, concrete(q, values, window))
            if not ok:
                empty.append(f"{name}: {q.where}")
    return empty


async def refused_tables(conn: asyncpg.Connection, tables: list[str]) -> list[str]:
    refused = []
    for table in tables:
        try:
            await conn.fetch(f"SELECT * FROM {table} LIMIT 1")
        except asyncpg.InsufficientPrivilegeError:
            refused.append(table)
    return refused


RELATIONS = """
SELECT format('%I.%I', n.nspname, c.relname),
       n.nspname = 'evaluator' AND c.relkind = 'v' AND c.relname LIKE 'v\\_%' AS published
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1
"""


async def check_reader(
    url: str, role: str, password: str, tenant: str, prom: PrometheusServer, started: float
) -> None:
    """The variables offer the tenant, its root unit and the KPI; then every query has data."""
    values = {"tenant": tenant, "unit": "acme", "kpi": "new-clients"}
    conn = await asyncpg.connect(url, user=role, password=password)
    try:
        variables = {
            v: await conn.fetch(grafana.substitute(q, values))
            for v, q in _variable_queries().items()
        }
        assert tenant in [r["__value"] for r in variables["tenant"]]
        assert variables["unit"][0]["__value"] == "acme"  # the root comes first
        assert "new-clients" in [r["__value"] for r in variables["kpi"]]
        empty: list[str] = []
        deadline = time.monotonic() + 90  # breach -> notifier -> failed Slack is the slowest
        while time.monotonic() < deadline:
            empty = await empty_queries(prom, conn, values, started)
            if not empty:
                break
            await asyncio.sleep(1)
        assert empty == []
    finally:
        await conn.close()


def _variable_queries() -> dict[str, str]:
    return {
        v["name"]: v["query"]
        for board in grafana.dashboards().values()
        for v in board["templating"]["list"]
        if v["type"] == "query"
    }


async def check_refusals(url: str, role: str, password: str) -> None:
    """Every relation but the published views is refused to the migration's kpi_grafana (which
    reads every view) and to the login role the script made, whose sessions cannot write."""
    admin = await asyncpg.connect(url)
    try:
        relations = await admin.fetch(RELATIONS)
        others = [r[0] for r in relations if not r[1]]
        published = [r[0] for r in relations if r[1]]
        assert {"evaluator.kpi_status", "evaluator.nodes", "goals.nodes"} <= set(others)
        await admin.execute("SET ROLE kpi_grafana")  # the role the evaluator's migration made
        assert await refused_tables(admin, others) == others
        assert await refused_tables(admin, published) == []
        assert sorted(published) == sorted(grafana.published_views())
    finally:
        await admin.close()
    conn = await asyncpg.connect(url, user=role, password=password)
    try:
        assert await refused_tables(conn, others) == others
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await conn.execute("CREATE TEMP TABLE t (x int)")
    finally:
        await conn.close()


def acme_links() -> set[tuple[str, str]]:
    """(parent, child) of every supports / so_that / contributes_to link in the document."""
    doc = yaml.safe_load(ACME.read_text())
    kinds = {"goals": "goal", "objectives": "objective", "success_factors": "success_factor"}
    type_of = {e["id"]: t for section, t in kinds.items() for e in doc[section]}
    links = set()
    for section, t in [*kinds.items(), ("kpis", "kpi")]:
        for entry in doc[section]:
            for key in ("supports", "so_that"):
                parents = entry.get(key) or []
                for parent in [parents] if isinstance(parents, str) else parents:
                    links.add((f"{type_of[parent]}:{parent}", f"{t}:{entry['id']}"))
            if "contributes_to" in entry:
                links.add((f"kpi:{entry['contributes_to']}", f"kpi:{entry['id']}"))
    return links


async def check_views(url: str, role: str, password: str, tenant: str) -> None:
    """The views say what the strategy and the evaluator's state say."""
    conn = await asyncpg.connect(url, user=role, password=password)
    try:
        edges = await conn.fetch(
            "SELECT source, target FROM evaluator.v_cascade_edges WHERE tenant_id = $1", tenant
        )
        assert {(e["source"], e["target"]) for e in edges} == acme_links()
        goal = await conn.fetchrow(
            "SELECT secondarystat, arc__achieved + arc__on_track + arc__at_risk + arc__off_track"
            " + arc__no_data AS arcs FROM evaluator.v_cascade_nodes"
            " WHERE tenant_id = $1 AND id = 'goal:grow-revenue'",
            tenant,
        )
        # revenue, revenue-emea, revenue-amer; ar-days via collect-faster; new-clients and
        # qualified-leads via win-new-clients; bounce-rate via generate-leads
        assert goal["secondarystat"] == "7 KPIs"
        assert goal["arcs"] == pytest.approx(1)
        sales = await conn.fetch(
            "SELECT unit_id FROM evaluator.v_unit_tree WHERE tenant_id = $1 AND ancestor = 'sales'",
            tenant,
        )
        assert {r["unit_id"] for r in sales} == {"sales", "sales-emea", "sales-amer"}
        last = await conn.fetchval(
            "SELECT actual FROM evaluator.v_kpi_progress WHERE tenant_id = $1"
            " AND kpi_id = 'new-clients' ORDER BY time DESC LIMIT 1",
            tenant,
        )
        status = await conn.fetchrow(
            "SELECT actual, breached FROM evaluator.v_kpi_status"
            " WHERE tenant_id = $1 AND kpi_id = 'new-clients'",
            tenant,
        )
        assert last == status["actual"]  # the running total ends at the period's actual
        assert status["breached"]  # planted
    finally:
        await conn.close()


def test_every_dashboard_query_returns_data_as_the_read_only_role(
    infra: Infra, database_url: str, reader: tuple[str, str], unique: str, tmp_path: Path
) -> None:
    env = {
        "KPI_DATABASE_URL": database_url,
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": f"{infra.topic_prefix}dash{unique}.",
        "KPI_LOG_LEVEL": "INFO",
    }
    url = database_url.replace("postgresql+asyncpg://", "postgresql://")
    with (
        running_stack(env, tmp_path) as (procs, smtp),
        running_prometheus(tmp_path, {n: f"127.0.0.1:{p.port}" for n, p in procs.items()}) as prom,
    ):
        prom.wait_scraped()
        started = time.time()
        assert sum(len(g["rules"]) for g in prom.api("rules")["groups"]) == deployed_rules()
        tenant = Tenant(procs)
        tenant.apply()
        tenant.dead_letter(f"dash-{unique}")
        tenant.send(tenant.simulated_events(datetime.now(UTC)))
        run_setup_script(url, *reader)
        asyncio.run(check_reader(url, *reader, tenant.id, prom, started))
        asyncio.run(check_views(url, *reader, tenant.id))
        asyncio.run(check_refusals(url, *reader))
        assert smtp.messages  # the breaches' emails went out
