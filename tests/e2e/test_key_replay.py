"""A revoked key stays revoked in every service that checks keys when an old batch of
`goals.changes` is published again (docs/events.md, "API keys"): goals issues a key and
revokes it; the key's creation, as goals published it and in its v1 form, is re-published
after the revocation; metrics-ingest, the evaluator and the notifier all keep refusing it.

Each service has read the replay once it accepts a new key published behind it on the same
partition (same Kafka key: one partition is read in order)."""

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from kpi_common.apikeys import hash_api_key, new_api_key
from kpi_common.events import ApiKeyUpserted, ApiKeyUpsertedV2, Envelope, decode, make_envelope
from kpi_common.kafka import Outgoing, create_producer, publish, running
from kpi_common.topics import GOALS_CHANGES

from tests.support.procs import ServiceProcess
from tests.support.procs import running as service_running

pytestmark = pytest.mark.e2e


def _until(answers: Callable[[], tuple[int, ...]], wanted: tuple[int, ...], what: str) -> None:
    deadline = time.monotonic() + 90
    while (got := answers()) != wanted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: ingest, evaluator, notifier answer {got}")
        time.sleep(0.2)


async def _find(bootstrap: str, topic: str, envelope_id: str) -> tuple[str, Envelope]:
    """The Kafka key and envelope of the event `envelope_id` on `topic`."""
    reader = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest", enable_auto_commit=False,
    )  # fmt: skip
    async with running(reader) as consumer:
        async with asyncio.timeout(30):
            while True:
                batch = await consumer.getmany(timeout_ms=200)
                for record in (r for rs in batch.values() for r in rs):
                    if (env := decode(record.value)).id == envelope_id:
                        return record.key.decode(), env


async def _replay(bootstrap: str, topic: str, created_id: str, barrier_key: str) -> None:
    """Re-publish the key's creation (v2 as goals sent it, and as v1), then a new admin key
    on the same Kafka key, whose acceptance shows the replay was read."""
    kafka_key, created = await _find(bootstrap, topic, created_id)
    v2 = ApiKeyUpsertedV2.model_validate(created.data)
    v1 = ApiKeyUpserted.model_validate(v2.model_dump(exclude={"revision"}))
    barrier = ApiKeyUpsertedV2(
        key_id=f"key_{uuid.uuid4().hex[:16]}", key_hash=hash_api_key(barrier_key), role="admin",
        revision=1,
    )  # fmt: skip
    envs = [created, *(_envelope(created.tenant_id, d) for d in (v1, barrier))]
    async with running(create_producer(bootstrap)) as producer:
        await publish(producer, [Outgoing(topic, kafka_key, e) for e in envs])


def _envelope(tenant_id: str, data: ApiKeyUpserted) -> Envelope:
    return make_envelope(
        id=f"replay-{uuid.uuid4().hex}", tenant_id=tenant_id, producer="goals",
        time=datetime.now(UTC), data=data,
    )  # fmt: skip


def _answers(key: str, ingest: ServiceProcess, evaluator: ServiceProcess,
             notifier: ServiceProcess) -> tuple[int, int, int]:  # fmt: skip
    """What each service answers the key: 202 / 200 / 200 when it knows it, else 401."""
    auth = {"Authorization": f"Bearer {key}"}
    event = {"id": f"r-{uuid.uuid4().hex}", "metric": "crm.deal.won", "value": 1}
    return (
        httpx.post(f"{ingest.url}/v1/events", json=event, headers=auth).status_code,
        httpx.get(f"{evaluator.url}/v1/scorecard", headers=auth).status_code,
        httpx.get(f"{notifier.url}/v1/notifications", headers=auth).status_code,
    )


def test_a_replayed_creation_never_revives_a_revoked_key(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**service_env, "KPI_OPERATOR_TOKEN": "op-" + uuid.uuid4().hex}
    topic = GOALS_CHANGES.qualified(env["KPI_TOPIC_PREFIX"])
    with (
        service_running("goals", env, tmp_path) as goals,
        service_running("metrics-ingest", env, tmp_path) as ingest,
        service_running("evaluator", env, tmp_path) as evaluator,
        service_running("notifier", env, tmp_path) as notifier,
    ):
        op = {"Authorization": f"Bearer {env['KPI_OPERATOR_TOKEN']}"}
        slug = f"r{uuid.uuid4().hex[:8]}"
        created = httpx.post(f"{goals.url}/v1/tenants", json={"slug": slug}, headers=op)
        assert created.status_code == 201, created.text
        tenant_id = created.json()["tenant_id"]
        admin = {"Authorization": f"Bearer {created.json()['admin_api_key']}"}
        issued = httpx.post(f"{goals.url}/v1/api-keys", json={"role": "admin"}, headers=admin)
        assert issued.status_code == 201, issued.text
        key, key_id = issued.json()["api_key"], issued.json()["key_id"]
        known = (202, 200, 200)

        def answers(k: str) -> tuple[int, int, int]:
            return _answers(k, ingest, evaluator, notifier)

        _until(lambda: answers(key), known, "a service never learned the key")

        revoked = httpx.delete(f"{goals.url}/v1/api-keys/{key_id}", headers=admin)
        assert revoked.is_success, revoked.text
        _until(lambda: answers(key), (401, 401, 401), "a service kept the revoked key")

        barrier = new_api_key()
        created_id = f"{tenant_id}:apikey:{key_id}:r1:v2"
        asyncio.run(_replay(env["KPI_KAFKA_BOOTSTRAP"], topic, created_id, barrier))
        _until(lambda: answers(barrier), known, "a service never read the replay")
        assert answers(key) == (401, 401, 401)
