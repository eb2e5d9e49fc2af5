"""deploy/grafana: provisioned datasources and dashboards that hang together. Each panel names a
provisioned datasource and has queries; the PromQL parses and names metrics the services
export; the SQL reads only the views the evaluator publishes to the read-only role; every
variable a query uses is defined. (tests/e2e/test_dashboards.py runs every query.)"""

import re
from typing import Any

import promql_parser
import pytest
import yaml

from tests.support import grafana
from tests.unit.deploy import metric_names
from tests.unit.deploy._paths import COMPOSE, load_yaml

BOARDS = grafana.dashboards()
MACROS = {"__timeFilter", "__timeFrom", "__timeTo", "__rate_interval", "__interval", "__range"}
PROM_VALUES = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}


def _all_queries() -> list[grafana.Query]:
    return [q for name, board in BOARDS.items() for q in grafana.queries(name, board)]


def _by_kind(uid: str) -> list[grafana.Query]:
    return [q for q in _all_queries() if q.datasource == uid]


def _ids(q: grafana.Query) -> str:
    return f"{q.dashboard}: {q.where}"


def test_the_four_dashboards_are_there_with_unique_uids() -> None:
    assert set(BOARDS) == {"scorecard", "kpi-detail", "cascade", "operations"}
    uids = [b["uid"] for b in BOARDS.values()]
    assert len(set(uids)) == len(uids)
    assert all(b["title"] and b["panels"] for b in BOARDS.values())


def test_datasources_are_prometheus_and_postgres() -> None:
    assert grafana.datasources() == {
        "kpi-prometheus": grafana.PROMETHEUS_TYPE,
        "kpi-postgres": grafana.POSTGRES_TYPE,
    }


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_panel_names_a_provisioned_datasource_and_has_queries(name: str) -> None:
    provisioned = grafana.datasources()
    for panel in grafana.panels(BOARDS[name]):
        title = panel["title"]
        assert panel["datasource"]["uid"] in provisioned, title
        assert panel["datasource"]["type"] == provisioned[panel["datasource"]["uid"]], title
        assert panel["targets"], f"{title} has no query"
        refs = [t["refId"] for t in panel["targets"]]
        assert len(set(refs)) == len(refs), title
        for target in panel["targets"]:
            assert (target.get("rawSql") or target.get("expr", "")).strip(), title
            assert target["datasource"]["uid"] in provisioned, title


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_panels_fit_the_grid_without_overlapping(name: str) -> None:
    cells: set[tuple[int, int]] = set()
    for panel in grafana.panels(BOARDS[name]):
        pos = panel["gridPos"]
        assert pos["x"] >= 0, panel["title"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        mine = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine


@pytest.mark.parametrize("query", _by_kind("kpi-prometheus"), ids=_ids)
def test_promql_parses_and_names_exported_metrics(query: grafana.Query) -> None:
    expr = grafana.substitute(query.text, PROM_VALUES)
    promql_parser.parse(expr)
    assert metric_names.used(expr) <= metric_names.exported(), expr


@pytest.mark.parametrize("query", _by_kind("kpi-postgres"), ids=_ids)
def test_sql_reads_only_the_published_views(query: grafana.Query) -> None:
    relations = set(re.findall(r"\b(?:from|join)\s+([\w.]+)", query.text, re.IGNORECASE))
    assert relations, query.text
    assert relations <= set(grafana.published_views()), query.text


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_variable_a_query_uses_is_defined(name: str) -> None:
    board = BOARDS[name]
    defined = {v["name"] for v in board["templating"]["list"]}
    for q in grafana.queries(name, board):
        assert grafana.variables(q.text) <= defined | MACROS, _ids(q)
    for panel in grafana.panels(board):
        for override in panel["fieldConfig"]["overrides"]:
            for prop in override["properties"]:
                for link in prop["value"] if prop["id"] == "links" else []:
                    used = grafana.variables(link["url"]) - {"__data"}
                    assert used <= defined, link["url"]


def test_kpi_variables_cascade_tenant_unit_kpi() -> None:
    detail = {v["name"]: v for v in BOARDS["kpi-detail"]["templating"]["list"]}
    assert list(detail) == ["tenant", "unit", "kpi"]
    assert "${tenant}" in detail["unit"]["query"]
    assert {"${tenant}", "${unit}"} <= set(re.findall(r"\$\{\w+\}", detail["kpi"]["query"]))


def test_kpi_detail_annotates_breaches() -> None:
    annotations = [a for a in BOARDS["kpi-detail"]["annotations"]["list"] if "target" in a]
    assert [a["name"] for a in annotations] == ["Breaches"]
    assert "v_kpi_breaches" in annotations[0]["target"]["rawSql"]


def test_cascade_panel_gets_nodes_and_edges_frames() -> None:
    graph = [p for p in grafana.panels(BOARDS["cascade"]) if p["type"] == "nodeGraph"]
    assert len(graph) == 1
    targets = {t["refId"]: t["rawSql"] for t in graph[0]["targets"]}
    assert set(targets) == {"nodes", "edges"}
    for field in ("id", "title", "mainstat", "arc__off_track"):
        assert re.search(rf"\b{field}\b", targets["nodes"]), field
    for field in ("id", "source", "target"):
        assert re.search(rf"\b{field}\b", targets["edges"]), field


def test_operations_covers_the_pipeline() -> None:
    exprs = " ".join(q.text for q in grafana.queries("operations", BOARDS["operations"]))
    for metric in (
        "metrics_ingest_events_total",
        "evaluator_consumer_lag_messages",
        "metrics_ingest_dead_letters_total",
        "kpi_outbox_backlog_messages",
        "notifier_notifications_sent_total",
        "notifier_delivery_failures_total",
    ):
        assert metric in exprs


def _compose_grafana() -> dict[str, Any]:
    service: dict[str, Any] = load_yaml(COMPOSE)["services"]["grafana"]
    return service


def _provisioning(kind: str) -> str:
    text = (grafana.PROVISIONING / kind / "kpi-cascade.yaml").read_text()
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def test_compose_mounts_the_dashboards_where_the_provider_reads() -> None:
    grafana_service = _compose_grafana()
    mounts = dict(v.split(":")[:2] for v in grafana_service["volumes"])
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    provider = yaml.safe_load(_provisioning("dashboards"))["providers"][0]
    assert provider["options"]["path"] == "${KPI_GRAFANA_DASHBOARDS}"
    assert (
        grafana_service["environment"]["KPI_GRAFANA_DASHBOARDS"] == mounts["./grafana/dashboards"]
    )


@pytest.mark.parametrize("kind", ["datasources", "dashboards"])
def test_compose_gives_grafana_every_variable_the_provisioning_uses(kind: str) -> None:
    wanted = set(re.findall(r"\$\{(\w+)\}", _provisioning(kind)))
    assert wanted
    assert wanted <= set(_compose_grafana()["environment"])


def test_the_database_password_comes_from_the_environment_only() -> None:
    passwords = re.findall(r"password:.*", _provisioning("datasources"))
    assert passwords == ["password: ${KPI_GRAFANA_DB_PASSWORD}"]
    assert "${KPI_GRAFANA_DB_PASSWORD" in str(load_yaml(COMPOSE)["services"]["postgres"])
