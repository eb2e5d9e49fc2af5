"""deploy/prometheus: a scrape job per service on the compose network, and alert rules for the
pipeline's own health whose every expression is valid PromQL."""

import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
from kpi_common.outbox import OUTBOX_BACKLOG

from tests.unit.deploy._paths import COMPOSE, PROMETHEUS, SERVICES, load_yaml

RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))


def _config() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(PROMETHEUS / "prometheus.yml")
    return loaded


def _rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in RULE_FILES
        for group in load_yaml(path)["groups"]
        for rule in group["rules"]
    ]


def _alerts() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in _rules() if "alert" in rule}


def test_one_scrape_job_per_service_at_its_compose_address() -> None:
    jobs = {job["job_name"]: job for job in _config()["scrape_configs"]}
    compose_services = load_yaml(COMPOSE)["services"]
    for name, (port, _) in SERVICES.items():
        job = jobs[name]
        assert job.get("metrics_path", "/metrics") == "/metrics"
        targets = [t for sc in job["static_configs"] for t in sc["targets"]]
        assert targets == [f"{name}:{port}"]
        assert name in compose_services


def test_rule_files_are_loaded_from_the_mounted_folder() -> None:
    assert RULE_FILES
    patterns = _config()["rule_files"]
    mounted = [Path(p.replace("/etc/prometheus/", str(PROMETHEUS) + "/")) for p in patterns]
    loaded = {f for pattern in mounted for f in pattern.parent.glob(pattern.name)}
    assert set(RULE_FILES) <= loaded


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.get("alert") or r.get("record"))
def test_every_rule_expression_is_valid_promql(rule: dict[str, Any]) -> None:
    promql_parser.parse(rule["expr"])


@pytest.mark.parametrize(
    "expr",
    [
        "sum by (job (rate(x[5m]))",
        "rate(x[5 minutes])",
        "up == ",
        "max(kpi_outbox_backlog_messages",
    ],
)
def test_the_parser_rejects_broken_promql(expr: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the parser raises a bare ValueError
        promql_parser.parse(expr)


def test_every_alert_has_a_severity_a_summary_and_a_description() -> None:
    for name, alert in _alerts().items():
        assert alert["labels"]["severity"] in {"warning", "critical"}, name
        assert alert["annotations"]["summary"], name
        assert alert["annotations"]["description"], name


@pytest.mark.parametrize(
    ("concern", "pattern"),
    [
        ("service down", r"\bup\{"),
        ("consumer lag", r"consumer_lag_messages"),
        ("dead letters", r"dead_letter"),
        ("outbox backlog", rf"\b{OUTBOX_BACKLOG._name}\b"),
        ("delivery failures", r"deliver(y|ies)_fail"),
    ],
)
def test_an_alert_covers_each_health_concern(concern: str, pattern: str) -> None:
    matching = [name for name, alert in _alerts().items() if re.search(pattern, alert["expr"])]
    assert matching, f"no alert on {concern}"


def test_outbox_alert_uses_the_metric_the_library_exports() -> None:
    assert OUTBOX_BACKLOG._name == "kpi_outbox_backlog_messages"
    assert "service" in OUTBOX_BACKLOG._labelnames


def test_service_down_alert_names_the_four_jobs() -> None:
    expr = _alerts()["KpiServiceDown"]["expr"]
    jobs = re.search(r'job=~"([^"]+)"', expr)
    assert jobs is not None
    assert set(jobs.group(1).split("|")) == set(SERVICES)
