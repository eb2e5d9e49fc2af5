"""A notifier app in this process against the real Kafka and Postgres, with a real SMTP
server and a real HTTP server standing in for Slack; the test publishes the events."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from asgi_lifespan import LifespanManager
from kpi_common.apikeys import hash_api_key, new_api_key
from kpi_common.events import ApiKeyUpserted, Envelope, KpiBreachOpened, make_envelope
from kpi_common.kafka import Outgoing, create_producer, publish
from kpi_common.topics import GOALS_CHANGES, KPI_BREACHES
from kpi_notifier.config import Settings
from kpi_notifier.main import Notifier, create_app

from tests.conftest import Infra, _psql, _with_database
from tests.integration.kpi_notifier.servers import SlackServer, SmtpServer
from tests.support.strategy_events import events

T0 = datetime(2026, 2, 20, 8, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Harness:
    tenant_id: str
    prefix: str
    api: httpx.AsyncClient
    notifier: Notifier
    producer: AIOKafkaProducer
    keys: dict[str, str] = field(default_factory=dict)
    key_ids: dict[str, str] = field(default_factory=dict)

    async def publish(self, topic: str, key: str, envs: list[Envelope]) -> None:
        await publish(self.producer, [Outgoing(self.prefix + topic, key, e) for e in envs])

    async def strategy(self, doc: dict[str, Any] | None = None) -> None:
        envs = events(self.tenant_id, doc)
        for env in envs:
            d = env.data
            await self.publish(
                GOALS_CHANGES.name, f"{self.tenant_id}:{d['node_type']}:{d['node_id']}", [env]
            )

    async def _publish_key(self, role: str, key: str, key_id: str, revoked: bool = False) -> None:
        data = ApiKeyUpserted(key_id=key_id, key_hash=hash_api_key(key), role=role, revoked=revoked)
        env = make_envelope(id=f"apikey:{key_id}:{revoked}", tenant_id=self.tenant_id,
                            producer="goals", time=datetime.now(UTC), data=data)  # fmt: skip
        await self.publish(GOALS_CHANGES.name, f"{self.tenant_id}:apikey:{key_id}", [env])

    async def api_key(self, role: str = "admin") -> str:
        """A key of `role`, published as goals does, once the notifier accepts it."""
        key, key_id = new_api_key(), f"key-{uuid.uuid4().hex[:8]}"
        await self._publish_key(role, key, key_id)
        self.keys[role] = key
        self.key_ids[key] = key_id
        await until(lambda: self._knows(key))
        return key

    async def api_key_refused(self, role: str) -> int:
        """Publish a key of `role` and return the status the API answers it once learned."""
        key = new_api_key()
        await self._publish_key(role, key, f"key-{uuid.uuid4().hex[:8]}")
        answers: list[int] = []

        async def learned() -> bool:
            r = await self.api.get("/v1/notifications", headers=auth(key))
            answers.append(r.status_code)
            return r.status_code != 401

        await until(learned)
        return answers[-1]

    async def revoke(self, key: str, role: str) -> None:
        await self._publish_key(role, key, self.key_ids[key], revoked=True)

        async def refused() -> bool:
            return not await self._knows(key)

        await until(refused)

    async def _knows(self, key: str) -> bool:
        r = await self.api.get("/v1/notifications", headers=auth(key))
        return r.status_code == 200

    async def breach(
        self,
        kpi: str,
        unit: str,
        owner: str,
        breach_id: str | None = None,
        key_of: str | None = None,
        **facts: Any,
    ) -> str:
        """Publish a breach of `kpi`, keyed as the evaluator keys it (or as `key_of`'s, to put
        it on that KPI's partition, behind what was published there before)."""
        breach_id = breach_id or f"brc-{kpi}-{uuid.uuid4().hex[:6]}"
        ids = {"breach_id": breach_id, "kpi_id": kpi, "unit_id": unit, "owner": owner}
        data = KpiBreachOpened.model_validate({**example_breach(), **ids, **facts})
        env = make_envelope(
            id=f"{breach_id}-opened",
            tenant_id=self.tenant_id,
            producer="evaluator",
            time=datetime.now(UTC),
            data=data,
        )
        await self.publish(KPI_BREACHES.name, f"{self.tenant_id}:{key_of or kpi}", [env])
        return breach_id

    async def rows(self, **params: Any) -> list[dict[str, Any]]:
        r = await self.api.get("/v1/notifications", params=params, headers=auth(self.keys["admin"]))
        assert r.status_code == 200, r.text
        rows: list[dict[str, Any]] = r.json()
        return rows


def example_breach() -> dict[str, Any]:
    import json
    from pathlib import Path

    path = (
        Path(__file__).resolve().parents[3]
        / "libs/kpi-common/src/kpi_common/examples/kpi.breach.opened.v1.json"
    )
    data: dict[str, Any] = json.loads(path.read_text())[0]["data"]
    return data


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 30) -> None:
    """Wait (bounded) until an asynchronous effect shows."""
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110 (the effect is in another process or loop)
            await asyncio.sleep(0.05)


@pytest.fixture
def database_url(infra: Infra, unique: str) -> Iterator[str]:
    """A database of the test's own: the ticker and the sender work across all tenants, so
    one test's breaches must not reach another test's servers."""
    name = f"kpi_ntf_{unique}"
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settings_for(
    infra: Infra, database_url: str, prefix: str, smtp: SmtpServer, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap": infra.kafka_bootstrap,
        "topic_prefix": prefix,
        "topic_partitions": 2,
        "smtp_port": smtp.port,
        "KPI_NOTIFIER_SENDER_POLL_S": 0.05,
        "KPI_NOTIFIER_RETRY_BASE_S": 0.2,
        "KPI_NOTIFIER_SLACK_MIN_INTERVAL_S": 0.05,
    }
    return Settings(**(values | extra))


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def slack() -> AsyncIterator[SlackServer]:
    server = SlackServer(rate_limit_first=1)
    await server.start()
    yield server
    await server.stop()


@asynccontextmanager
async def harness(
    infra: Infra, unique: str, settings: Settings, clock: Callable[[], datetime],
    environ: dict[str, str], loops: tuple[str, ...] = ("consumer", "sender", "relay"),
) -> AsyncIterator[Harness]:  # fmt: skip
    app = create_app(settings, clock=clock, environ=environ, loops=loops)
    producer = create_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
            notifier: Notifier = app.state.notifier
            await asyncio.wait_for(notifier.runtime.kafka.connected.wait(), 60)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as api:
                yield Harness(str(uuid.uuid4()), settings.topic_prefix, api, notifier, producer)
    finally:
        await producer.stop()
