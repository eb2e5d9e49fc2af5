"""Every service runs as a real process against the real Kafka and Postgres and answers its
health, readiness and metrics endpoints; readiness follows Kafka down and back up."""

from pathlib import Path
from typing import cast

import httpx
import pytest
from kpi_localinfra import KafkaServer

from tests.support.procs import free_ports, running

pytestmark = pytest.mark.e2e

NAMES = ["goals", "metrics-ingest", "evaluator", "notifier"]


@pytest.mark.parametrize("name", NAMES)
def test_service_answers_health_readiness_and_metrics(
    name: str, service_env: dict[str, str], tmp_path: Path
) -> None:
    with running(name, service_env, tmp_path) as svc:
        health = httpx.get(f"{svc.url}/healthz")
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "service": name}
        ready = httpx.get(f"{svc.url}/readyz").json()
        assert ready["checks"] == {"postgres": True, "kafka": True}
        metrics = httpx.get(f"{svc.url}/metrics")
        assert metrics.status_code == 200
        prefix = name.replace("-", "_")
        assert f"{prefix}_http_requests_total" in metrics.text


def test_readiness_turns_503_naming_kafka_while_it_is_down_and_recovers(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    kafka = KafkaServer(tmp_path / "kafka", *free_ports(2))
    kafka.start()
    try:
        env = {**service_env, "KPI_KAFKA_BOOTSTRAP": kafka.bootstrap}
        with running("goals", env, tmp_path) as svc:
            kafka.stop()
            down = svc.wait_ready(timeout_s=30, status=503)
            assert down["down"] == ["kafka"]
            assert cast(dict[str, object], down["checks"])["postgres"] is True
            kafka.start()
            assert svc.wait_ready(timeout_s=60)["down"] == []
    finally:
        kafka.stop()
