"""deploy/compose.yaml: valid against the Compose Specification, and wired as the stack needs."""

import copy
from typing import Any

import jsonschema
import pytest
from check_jsonschema.builtin_schemas import get_builtin_schema

from tests.unit.deploy._paths import COMPOSE, DEPLOY, ROOT, SERVICES, load_yaml

INFRA = ("kafka", "postgres", "prometheus", "grafana", "mailpit")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(COMPOSE)
    return loaded


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = get_builtin_schema("vendor.compose-spec")
    return jsonschema.Draft202012Validator(schema)


def _services(compose: dict[str, Any]) -> dict[str, Any]:
    services: dict[str, Any] = compose["services"]
    return services


def test_compose_file_matches_the_compose_specification(
    compose: dict[str, Any], validator: jsonschema.Draft202012Validator
) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(("services", "goals", "healthcheck", "retries"), [3], id="retries-list"),
        pytest.param(("services", "goals", "healthchek"), {"test": ["true"]}, id="unknown-key"),
        pytest.param(
            ("services", "kafka", "depends_on"),
            {"postgres": {"condition": "when_ready"}},
            id="bad-condition",
        ),
        pytest.param(("services", "postgres", "restart_policy"), "always", id="misplaced-key"),
        pytest.param(("services", "evaluator", "ports"), "8003:8003", id="ports-not-a-list"),
    ],
)
def test_schema_rejects_a_broken_compose_file(
    compose: dict[str, Any],
    validator: jsonschema.Draft202012Validator,
    path: tuple[str, ...],
    value: object,
) -> None:
    broken = copy.deepcopy(compose)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert list(validator.iter_errors(broken)), f"{path} = {value!r} should be invalid"


def test_stack_has_the_infrastructure_and_the_four_services(compose: dict[str, Any]) -> None:
    assert set(_services(compose)) == set(INFRA) | set(SERVICES) | {"web"}


def test_the_web_view_reads_the_services_it_waits_for(compose: dict[str, Any]) -> None:
    web = _services(compose)["web"]
    env = web["environment"]
    assert web["build"]["args"] == {"SERVICE": "web", "PORT": "8005"}
    assert web["ports"] == ["8005:8005"]
    assert env["KPI_WEB_PORT"] == "8005"
    assert env["KPI_HOST"] == "0.0.0.0"
    reads = {"goals": 8001, "evaluator": 8003, "notifier": 8004}
    assert {env[f"KPI_WEB_{n.upper()}_URL"] for n in reads} == {
        f"http://{n}:{port}" for n, port in reads.items()
    }
    assert set(web["depends_on"]) == set(reads)
    assert "KPI_DATABASE_URL" not in env  # it owns no table


def test_every_container_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        check = service.get("healthcheck", {})
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable", False), name


def test_every_depends_on_waits_for_a_healthy_dependency(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions, not a list"
        for dep, spec in depends.items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert spec["condition"] == "service_healthy", f"{name} -> {dep}"
            assert "healthcheck" in services[dep], f"{name} waits on {dep}, which has none"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_is_built_from_the_repo_and_waits_for_kafka_and_postgres(
    compose: dict[str, Any], name: str
) -> None:
    service = _services(compose)[name]
    build = service["build"]
    assert (DEPLOY / build["context"]).resolve() == ROOT
    assert (ROOT / build["dockerfile"]).is_file()
    assert build["args"]["SERVICE"] == name
    assert (ROOT / "services" / name / "pyproject.toml").is_file()
    assert {"postgres", "kafka"} <= set(service["depends_on"])
    assert service["healthcheck"]["test"] == ["CMD", "python", "/app/healthcheck.py"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_publishes_its_port_and_gets_its_settings(
    compose: dict[str, Any], name: str
) -> None:
    port, port_variable = SERVICES[name]
    service = _services(compose)[name]
    env = service["environment"]
    assert service["ports"] == [f"{port}:{port}"]
    assert int(service["build"]["args"]["PORT"]) == port
    assert int(env[port_variable]) == port
    assert env["KPI_HOST"] == "0.0.0.0"
    assert env["KPI_LOG_FORMAT"] == "json"
    assert env["KPI_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert env["KPI_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in env["KPI_DATABASE_URL"]
    assert int(env["KPI_TOPIC_PARTITIONS"]) >= 1
    assert {"KPI_TOPIC_PREFIX", "KPI_LOG_LEVEL"} <= set(env)


def test_goals_gets_an_operator_token(compose: dict[str, Any]) -> None:
    assert _services(compose)["goals"]["environment"]["KPI_OPERATOR_TOKEN"]


def test_notifier_sends_mail_to_mailpit(compose: dict[str, Any]) -> None:
    services = _services(compose)
    env = services["notifier"]["environment"]
    assert env["KPI_SMTP_HOST"] == "mailpit"
    assert env["KPI_SMTP_PORT"] == "1025"
    assert env["KPI_SMTP_FROM"]
    assert "mailpit" in services["notifier"]["depends_on"]
    assert {"1025:1025", "8025:8025"} <= set(services["mailpit"]["ports"])


def test_kafka_is_a_single_kraft_node(compose: dict[str, Any]) -> None:
    kafka = _services(compose)["kafka"]
    env = kafka["environment"]
    assert kafka["image"].startswith("apache/kafka:")
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert len(env["CLUSTER_ID"]) == 22
    for key in ("OFFSETS_TOPIC", "TRANSACTION_STATE_LOG"):
        assert env[f"KAFKA_{key}_REPLICATION_FACTOR"] == 1


def test_postgres_is_16_and_checked_with_pg_isready(compose: dict[str, Any]) -> None:
    postgres = _services(compose)["postgres"]
    assert postgres["image"].split(":")[1].startswith("16")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_prometheus_and_grafana_mount_the_deploy_folders(compose: dict[str, Any]) -> None:
    services = _services(compose)
    prom = services["prometheus"]["volumes"]
    assert "./prometheus:/etc/prometheus:ro" in prom
    assert (DEPLOY / "prometheus" / "prometheus.yml").is_file()
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    mounts = {v.split(":")[0] for v in services["grafana"]["volumes"]}
    assert {"./grafana/provisioning", "./grafana/dashboards"} <= mounts


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    used = {
        volume.split(":")[0]
        for service in _services(compose).values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert used == set(compose["volumes"])
