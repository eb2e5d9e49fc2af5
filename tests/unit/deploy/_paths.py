"""Where the deployment files live, and the facts the tests check them against."""

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "docker" / "service.Dockerfile"
HEALTHCHECK = DEPLOY / "docker" / "healthcheck.py"
K8S = DEPLOY / "k8s"
PROMETHEUS = DEPLOY / "prometheus"

# service -> (HTTP port, the environment variable that sets it)
SERVICES: dict[str, tuple[int, str]] = {
    "goals": (8001, "KPI_GOALS_PORT"),
    "metrics-ingest": (8002, "KPI_INGEST_PORT"),
    "evaluator": (8003, "KPI_EVALUATOR_PORT"),
    "notifier": (8004, "KPI_NOTIFIER_PORT"),
}
PARTITIONS = 6


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_yaml_all(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]
