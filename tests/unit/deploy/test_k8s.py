"""deploy/k8s: every manifest valid against the Kubernetes JSON schemas (offline, strict), and
the properties a production rollout depends on."""

import copy
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.unit.deploy._paths import K8S, PARTITIONS, SERVICES, load_yaml, load_yaml_all

# The oldest Kubernetes we promise to run on, and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
SECRET = "kpi-cascade-secrets"
SECRET_KEYS = {"database-url", "operator-token", "smtp-password"}
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


@cache
def _all() -> list[dict[str, Any]]:
    """Every document of every manifest, parsed once (tests deep-copy before changing one)."""
    return [doc for path in MANIFESTS for doc in load_yaml_all(path)]


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in _all() if doc["kind"] == kind}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _validate(doc: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_valid_against_the_kubernetes_schema(path: Path, version: str) -> None:
    docs = load_yaml_all(path)
    assert docs
    for doc in docs:
        _validate(doc, version)


def _broken_deployments() -> list[Any]:
    base = _of_kind("Deployment")["evaluator"]
    cases = []
    wrong_type = copy.deepcopy(base)
    wrong_type["spec"]["replicas"] = "two"
    cases.append(("replicas is a string", wrong_type))
    unknown_field = copy.deepcopy(base)
    _container(unknown_field)["livenessProbe"]["httpGet"]["paht"] = "/healthz"
    cases.append(("misspelled field", unknown_field))
    no_selector = copy.deepcopy(base)
    del no_selector["spec"]["selector"]
    cases.append(("required selector missing", no_selector))
    bad_port = copy.deepcopy(base)
    _container(bad_port)["ports"][0]["containerPort"] = "http"
    cases.append(("containerPort is a name", bad_port))
    return [pytest.param(doc, id=why) for why, doc in cases]


@pytest.mark.parametrize("doc", _broken_deployments())
def test_validator_rejects_a_broken_manifest(doc: dict[str, Any]) -> None:
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(doc, KUBERNETES_VERSIONS[-1])


def test_validator_rejects_a_broken_autoscaler() -> None:
    hpa = copy.deepcopy(_of_kind("HorizontalPodAutoscaler")["evaluator"])
    hpa["spec"]["metrics"][0]["resource"]["target"]["type"] = 70
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(hpa, KUBERNETES_VERSIONS[-1])


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in MANIFESTS} - {"secret.example.yaml"}
    assert kustomization["namespace"] == "kpi-cascade"
    assert {i["name"] for i in kustomization["images"]} == {f"kpi-cascade/{s}" for s in SERVICES}


def test_the_only_secret_is_an_example_that_is_not_applied() -> None:
    applied = [d for d in _all() if d["kind"] == "Secret"]
    assert [d["metadata"]["name"] for d in applied] == [SECRET]
    example = load_yaml(K8S / "secret.example.yaml")
    assert set(example["stringData"]) == SECRET_KEYS
    assert all("REPLACE_ME" in v for v in example["stringData"].values())


def test_each_service_has_a_deployment_service_and_disruption_budget() -> None:
    for kind in ("Deployment", "Service", "PodDisruptionBudget"):
        assert set(_of_kind(kind)) == set(SERVICES), kind


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_deployment_probes_health_and_readiness_on_its_port(name: str) -> None:
    port, port_variable = SERVICES[name]
    container = _container(_of_kind("Deployment")[name])
    assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    config = _of_kind("ConfigMap")["kpi-cascade-config"]["data"]
    assert int(config[port_variable]) == port
    assert container["image"] == f"kpi-cascade/{name}:0.1.0"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_deployment_resources(name: str) -> None:
    resources = _container(_of_kind("Deployment")[name])["resources"]
    assert resources["requests"] == {"cpu": "250m", "memory": "256Mi"}
    assert resources["limits"]["memory"] == "384Mi"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_deployment_runs_locked_down(name: str) -> None:
    deployment = _of_kind("Deployment")[name]
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["automountServiceAccountToken"] is False
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert tmp, "a read-only root filesystem needs a writable /tmp"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_deployment_takes_config_and_secret_references(name: str) -> None:
    container = _container(_of_kind("Deployment")[name])
    assert container["envFrom"] == [{"configMapRef": {"name": "kpi-cascade-config"}}]
    refs = {}
    for var in container["env"]:
        assert "value" not in var, f"{var['name']}: set it in the ConfigMap or the Secret"
        ref = var["valueFrom"]["secretKeyRef"]
        assert ref["name"] == SECRET
        refs[var["name"]] = ref["key"]
    assert refs["KPI_DATABASE_URL"] == "database-url"
    assert set(refs.values()) <= SECRET_KEYS
    if name == "goals":
        assert refs["KPI_OPERATOR_TOKEN"] == "operator-token"
    if name == "notifier":
        assert refs["KPI_SMTP_PASSWORD"] == "smtp-password"


def test_config_map_carries_the_shared_settings() -> None:
    data = _of_kind("ConfigMap")["kpi-cascade-config"]["data"]
    assert data["KPI_HOST"] == "0.0.0.0"
    assert data["KPI_LOG_FORMAT"] == "json"
    assert int(data["KPI_TOPIC_PARTITIONS"]) == PARTITIONS
    expected = {"KPI_KAFKA_BOOTSTRAP", "KPI_TOPIC_PREFIX", "KPI_LOG_LEVEL"}
    expected |= {"KPI_SMTP_HOST", "KPI_SMTP_PORT", "KPI_SMTP_FROM"}
    assert expected <= set(data)
    assert not {"KPI_DATABASE_URL", "KPI_OPERATOR_TOKEN", "KPI_SMTP_PASSWORD"} & set(data)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_and_budget_select_the_pods(name: str) -> None:
    deployment = _of_kind("Deployment")[name]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    service = _of_kind("Service")[name]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["ports"][0]["port"] == SERVICES[name][0]
    budget = _of_kind("PodDisruptionBudget")[name]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_autoscalers() -> None:
    hpas = _of_kind("HorizontalPodAutoscaler")
    assert set(hpas) == {"metrics-ingest", "evaluator", "notifier"}
    for name, hpa in hpas.items():
        spec = hpa["spec"]
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert [m["resource"]["name"] for m in spec["metrics"]] == ["cpu"]
        assert "replicas" not in _of_kind("Deployment")[name]["spec"], "the HPA owns replicas"
        assert 1 <= spec["minReplicas"] <= spec["maxReplicas"]
    for consumer in ("evaluator", "notifier"):
        assert hpas[consumer]["spec"]["maxReplicas"] == PARTITIONS


def test_namespace_enforces_the_restricted_pod_security_standard() -> None:
    namespace = _of_kind("Namespace")["kpi-cascade"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
