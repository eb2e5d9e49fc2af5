"""Fixtures for metrics-ingest against the real Kafka and Postgres: the app in-process
(its lifespan run for real), keys published on goals.changes the way goals does, and a
reader of whole topics."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from asgi_lifespan import LifespanManager
from kpi_common.apikeys import hash_api_key, new_api_key
from kpi_common.events import ApiKeyUpserted, Envelope, TenantCreated, decode, make_envelope
from kpi_common.kafka import Outgoing, create_producer, ensure_topics, publish
from kpi_common.topics import GOALS_CHANGES
from kpi_ingest.config import Settings
from kpi_ingest.main import create_app

from tests.conftest import Infra


@pytest.fixture
def settings(infra: Infra, unique: str) -> Settings:
    return make_settings(
        infra.database_url, infra.kafka_bootstrap, f"{infra.topic_prefix}{unique}."
    )


def make_settings(database_url: str, bootstrap: str, prefix: str, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap": bootstrap,
        "topic_prefix": prefix,
        "topic_partitions": 3,
        "key_refresh_s": 0.2,
        "kafka_probe_s": 0.2,
        "kafka_retry_after_s": 2,
    }
    values.update(over)
    return Settings(**values)


@asynccontextmanager
async def running_app(settings: Settings, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The service's app with its lifespan, and a client that talks to it in-process."""
    app = create_app(settings, **kwargs)
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            await _wait_ready(client)
            yield client


async def _wait_ready(client: httpx.AsyncClient) -> None:
    """Like a load balancer: send traffic only once /readyz says Postgres and Kafka are up."""

    async def ready() -> bool:
        return (await client.get("/readyz")).status_code == 200

    await wait_until(ready, 60)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings) as c:
        yield c


async def publish_goals(settings: Settings, envelopes: list[Envelope], keys: list[str]) -> None:
    await ensure_topics(settings.kafka_bootstrap, settings.topic_prefix, settings.topic_partitions)
    producer = create_producer(settings.kafka_bootstrap)
    await producer.start()
    try:
        topic = GOALS_CHANGES.qualified(settings.topic_prefix)
        await publish(
            producer, [Outgoing(topic, k, e) for e, k in zip(envelopes, keys, strict=True)]
        )
    finally:
        await producer.stop()


def key_event(
    tenant_id: str, key: str, role: str, revoked: bool = False, key_id: str = ""
) -> Envelope:
    key_id = key_id or f"key-{uuid.uuid4().hex[:8]}"
    data = ApiKeyUpserted(key_id=key_id, key_hash=hash_api_key(key), role=role, revoked=revoked)
    return make_envelope(
        id=uuid.uuid4().hex,
        tenant_id=tenant_id,
        producer="goals",
        time=datetime.now(UTC),
        data=data,
    )


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    key: str
    key_id: str


async def new_tenant(settings: Settings, role: str = "ingest") -> Tenant:
    """A tenant and a key of `role`, announced on goals.changes the way goals does."""
    tenant_id = str(uuid.uuid4())
    key = new_api_key()
    created = make_envelope(
        id=uuid.uuid4().hex,
        tenant_id=tenant_id,
        producer="goals",
        time=datetime.now(UTC),
        data=TenantCreated(slug=f"t-{tenant_id[:8]}"),
    )
    upsert = key_event(tenant_id, key, role)
    await publish_goals(
        settings,
        [created, upsert],
        [f"{tenant_id}:tenant:{tenant_id}", f"{tenant_id}:apikey:{upsert.data['key_id']}"],
    )
    return Tenant(tenant_id, key, upsert.data["key_id"])


async def wait_until(check: Callable[[], Any], timeout_s: float = 30.0) -> None:
    """Poll an async predicate until it holds, within a bounded time."""
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110  (the effect is in another task or process)
            await asyncio.sleep(0.05)


async def wait_key_known(client: httpx.AsyncClient, key: str) -> None:
    async def known() -> bool:
        resp = await client.post("/v1/events", json=[], headers=auth(key))
        return resp.status_code != 401

    await wait_until(known)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def read_topic(
    bootstrap: str, topic: str, partitions_n: int = 3
) -> list[tuple[bytes, Envelope]]:
    """Every message on `topic` (of `partitions_n` partitions) up to its current end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        await consumer.start()
        partitions = [TopicPartition(topic, p) for p in range(partitions_n)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        out: list[tuple[bytes, Envelope]] = []
        async with asyncio.timeout(30):
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                batch = await consumer.getmany(timeout_ms=200)
                out += [(r.key, decode(r.value)) for recs in batch.values() for r in recs]
        return out
    finally:
        await consumer.stop()
