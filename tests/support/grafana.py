"""The provisioned Grafana dashboards (deploy/grafana/) read as the queries Grafana would run:
every panel target, annotation and templating variable, with Grafana's variables and macros
replaced by concrete values."""

import importlib.util
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
PROVISIONING = GRAFANA / "provisioning"
MIGRATION = ROOT / "services/evaluator/src/kpi_evaluator/migrations/versions/0004_grafana.py"
PROMETHEUS_TYPE = "prometheus"
POSTGRES_TYPE = "grafana-postgresql-datasource"

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Query:
    dashboard: str
    where: str  # "panel 'Title' A", "annotation 'Breaches'", "variable tenant"
    datasource: str  # uid
    text: str  # rawSql or PromQL expr
    instant: bool = False


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def published_views() -> list[str]:
    """`evaluator.<view>` for every view the evaluator's migration grants to kpi_grafana."""
    spec = importlib.util.spec_from_file_location("grafana_migration", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [f"evaluator.{v}" for v in module.VIEWS]


def datasources() -> dict[str, str]:
    """uid -> type of every provisioned datasource."""
    out: dict[str, str] = {}
    for path in sorted((PROVISIONING / "datasources").glob("*.yaml")):
        for ds in yaml.safe_load(path.read_text())["datasources"]:
            out[ds["uid"]] = ds["type"]
    return out


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, also those folded inside a collapsed row; rows themselves excluded."""
    for panel in dashboard.get("panels", []):
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def queries(name: str, dashboard: Mapping[str, Any]) -> list[Query]:
    out = [
        _query(name, f"panel {p['title']!r} {t['refId']}", t, p)
        for p in panels(dashboard)
        for t in p.get("targets", [])
    ]
    for a in dashboard.get("annotations", {}).get("list", []):
        if "target" in a:
            out.append(_query(name, f"annotation {a['name']!r}", a["target"], a))
    for v in dashboard.get("templating", {}).get("list", []):
        if v["type"] == "query":
            out.append(Query(name, f"variable {v['name']}", v["datasource"]["uid"], v["query"]))
    return out


def _query(name: str, where: str, target: Mapping[str, Any], owner: Mapping[str, Any]) -> Query:
    uid = (target.get("datasource") or owner["datasource"])["uid"]
    text = target.get("rawSql") or target.get("expr") or ""
    return Query(name, where, uid, text, bool(target.get("instant")))


def variables(text: str) -> set[str]:
    """Names of the Grafana variables and macros left in a query."""
    return set(re.findall(r"\$\{?(\w+)", text))


def substitute(text: str, values: Mapping[str, str]) -> str:
    """`${name}` and `$name` replaced, longer names first (`$__range` before `$__r...`)."""
    for name in sorted(values, key=len, reverse=True):
        text = text.replace("${" + name + "}", values[name])
        text = re.sub(rf"\${re.escape(name)}\b", values[name].replace("\\", r"\\"), text)
    return text


def sql_macros(text: str, start: datetime, end: datetime) -> str:
    """Grafana's SQL macros, expanded as its PostgreSQL datasource expands them."""
    a, b = start.isoformat(), end.isoformat()
    text = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 BETWEEN '{a}' AND '{b}'", text)
    return text.replace("$__timeFrom()", f"'{a}'").replace("$__timeTo()", f"'{b}'")


def time_range(dashboard: Mapping[str, Any], now: datetime) -> tuple[datetime, datetime]:
    """The dashboard's default time range (`now-90d` .. `now`) at `now`."""
    return _relative(dashboard["time"]["from"], now), _relative(dashboard["time"]["to"], now)


def _relative(spec: str, now: datetime) -> datetime:
    if spec == "now":
        return now
    found = re.fullmatch(r"now-(\d+)([smhdwMy])", spec)
    assert found, f"unsupported time {spec}"
    n, unit = int(found.group(1)), found.group(2)
    if unit in _UNITS:
        return now - timedelta(**{_UNITS[unit]: n})
    return now - timedelta(days=n * (30 if unit == "M" else 365))
