"""metrics-ingest as a real process, killed with SIGKILL and started again: ids accepted
before the crash are duplicates afterwards and appear on metrics.events exactly once."""

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from kpi_common.topics import METRICS_EVENTS

from tests.conftest import Infra
from tests.integration.kpi_ingest.conftest import make_settings, new_tenant, read_topic
from tests.support.procs import service

pytestmark = pytest.mark.e2e


def _events(ids: range) -> list[dict[str, object]]:
    return [{"id": f"k-{i}", "metric": "crm.deal.won", "value": 1} for i in ids]


def _post_when_known(url: str, key: str, body: list[dict[str, object]]) -> httpx.Response:
    """Post once the service knows the key (it learns keys from goals.changes)."""
    deadline = time.monotonic() + 60
    while True:
        resp = httpx.post(f"{url}/v1/events", json=body, headers={"Authorization": f"Bearer {key}"})
        if resp.status_code != 401 or time.monotonic() > deadline:
            return resp
        time.sleep(0.1)


def test_ids_accepted_before_a_crash_are_duplicates_after_the_restart(
    infra: Infra, service_env: dict[str, str], tmp_path: Path
) -> None:
    settings = make_settings(infra.database_url, infra.kafka_bootstrap, infra.topic_prefix)
    tenant = asyncio.run(new_tenant(settings.model_copy(update={"topic_partitions": 6})))
    log = tmp_path / "ingest.log"
    first = service("metrics-ingest", service_env, log)
    first.start()
    try:
        first.wait_ready()
        before = _post_when_known(first.url, tenant.key, _events(range(50)))
        assert before.status_code == 202, before.text
        assert before.json()["accepted"] == 50
    finally:
        first.kill()
    second = service("metrics-ingest", service_env, log)
    second.start()
    try:
        second.wait_ready()
        after = _post_when_known(second.url, tenant.key, _events(range(40, 60)))
        assert after.json() == {"accepted": 10, "duplicates": 10, "rejected": []}
    finally:
        second.stop()
    produced = asyncio.run(
        read_topic(infra.kafka_bootstrap, METRICS_EVENTS.qualified(infra.topic_prefix), 6)
    )
    ids = Counter(e.id for _, e in produced if e.tenant_id == tenant.tenant_id)
    assert set(ids) == {f"k-{i}" for i in range(60)}
    assert set(ids.values()) == {1}
