"""Fixtures for the evaluator against the real Kafka and Postgres: the app in-process (its
lifespan run for real) with an injected clock, the strategy and keys published on
goals.changes the way goals does, metric events published on metrics.events."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import TopicPartition
from asgi_lifespan import LifespanManager
from kpi_common.apikeys import hash_api_key, new_api_key
from kpi_common.events import ApiKeyUpserted, Envelope, MetricObserved, make_envelope
from kpi_common.kafka import Outgoing, create_producer, ensure_topics, publish
from kpi_common.topics import GOALS_CHANGES, METRICS_EVENTS
from kpi_evaluator.config import Settings
from kpi_evaluator.main import Parts, create_app

from tests.conftest import Infra
from tests.support import strategy_events

PARTITIONS = 3


class Clock:
    """An injected clock: tests move time, nothing sleeps."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_settings(infra: Infra, prefix: str, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": infra.database_url,
        "kafka_bootstrap": infra.kafka_bootstrap,
        "topic_prefix": prefix,
        "topic_partitions": PARTITIONS,
        "tick_s": 3600.0,
        "stale_after_s": 1e9,
    }
    values.update(over)
    return Settings(**values)


@pytest.fixture
def settings(infra: Infra, unique: str) -> Settings:
    return make_settings(infra, f"{infra.topic_prefix}{unique}.")


@dataclass
class Running:
    client: httpx.AsyncClient
    parts: Parts
    settings: Settings

    async def consumed(self) -> int:
        """Metric events whose offsets are committed in Postgres with their effects."""
        topic = METRICS_EVENTS.qualified(self.settings.topic_prefix)
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return sum((await self.parts.loops.metrics_store.load(tps)).values())

    async def wait_consumed(self, n: int, timeout_s: float = 60) -> None:
        async def done() -> bool:
            return await self.consumed() >= n

        await wait_until(done, timeout_s)


@asynccontextmanager
async def running_app(settings: Settings, clock: Clock) -> AsyncIterator[Running]:
    app = create_app(settings, clock=clock)
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://evaluator") as client:
            running = Running(client, app.state.parts, settings)

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await wait_until(ready, 60)
            yield running


async def wait_until(check: Callable[[], Any], timeout_s: float = 30.0) -> None:
    """Poll an async predicate until it holds, within a bounded time."""
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110  (the effect is in another task)
            await asyncio.sleep(0.05)


async def send(settings: Settings, topic_name: str, items: Sequence[tuple[str, Envelope]]) -> None:
    await ensure_topics(settings.kafka_bootstrap, settings.topic_prefix, PARTITIONS)
    producer = create_producer(settings.kafka_bootstrap)
    await producer.start()
    try:
        topic = f"{settings.topic_prefix}{topic_name}"
        await publish(producer, [Outgoing(topic, k, e) for k, e in items])
    finally:
        await producer.stop()


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def publish_strategy(
    settings: Settings, doc: dict[str, Any] | None = None, tenant_id: str | None = None
) -> Tenant:
    """A tenant's strategy (acme by default) and a viewer key, as goals publishes them."""
    tenant_id = tenant_id or str(uuid.uuid4())
    key = new_api_key()
    key_data = ApiKeyUpserted(key_id=uuid.uuid4().hex, key_hash=hash_api_key(key), role="viewer")
    key_env = make_envelope(
        id=uuid.uuid4().hex,
        tenant_id=tenant_id,
        producer="goals",
        time=datetime.now(UTC),
        data=key_data,
    )
    envs = [*strategy_events.events(tenant_id, doc), key_env]
    await send(settings, GOALS_CHANGES.name, [(_goals_key(e), e) for e in envs])
    return Tenant(tenant_id, key)


def _goals_key(env: Envelope) -> str:
    node = f"{env.data.get('node_type', 'apikey')}:{env.data.get('node_id', env.id)}"
    return f"{env.tenant_id}:{node}"


def metric(
    tenant_id: str,
    name: str,
    value: float,
    at: str,
    dims: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> tuple[str, Envelope]:
    t = datetime.fromisoformat(at)
    data = MetricObserved(metric=name, value=value, time=t, dimensions=dims or {}, received_at=t)
    env = make_envelope(
        id=event_id or uuid.uuid4().hex,
        tenant_id=tenant_id,
        producer="metrics-ingest",
        time=t,
        data=data,
    )
    return f"{tenant_id}:{name}", env


async def send_metrics(settings: Settings, items: Sequence[tuple[str, Envelope]]) -> None:
    await send(settings, METRICS_EVENTS.name, items)
