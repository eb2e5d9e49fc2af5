"""Migrations per schema and the outbox relay against the real Postgres and Kafka."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kpi_common.db import run_migrations, service_metadata, session_factory, unit_of_work
from kpi_common.events import Envelope, TenantCreated, make_envelope
from kpi_common.kafka import create_producer, ensure_topics
from kpi_common.outbox import OutboxRelay, add_to_outbox, outbox_table
from kpi_common.runtime import ProducerHandle, RelayHolder, Supervisor
from kpi_common.settings import ServiceSettings
from kpi_common.topics import GOALS_CHANGES
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Infra
from tests.integration.kpi_common.test_kafka import _read_all

pytestmark = pytest.mark.integration

SERVICES = {
    "goals": "services/goals/src/kpi_goals/migrations",
    "ingest": "services/metrics-ingest/src/kpi_ingest/migrations",
    "evaluator": "services/evaluator/src/kpi_evaluator/migrations",
    "notifier": "services/notifier/src/kpi_notifier/migrations",
}
ROOT = Path(__file__).resolve().parents[3]


async def _tables(engine: AsyncEngine, schema: str) -> set[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema},
        )
        return {r[0] for r in rows}


@pytest.mark.parametrize("schema", sorted(SERVICES))
async def test_each_service_migrates_its_own_schema_and_is_idempotent(
    engine: AsyncEngine, schema: str
) -> None:
    await run_migrations(engine, schema, ROOT / SERVICES[schema])
    await run_migrations(engine, schema, ROOT / SERVICES[schema])
    assert {"outbox", "alembic_version"} <= await _tables(engine, schema)


async def test_concurrent_migrations_serialise(engine: AsyncEngine) -> None:
    path = ROOT / SERVICES["goals"]
    await asyncio.gather(*(run_migrations(engine, "goals", path) for _ in range(3)))
    assert "outbox" in await _tables(engine, "goals")


async def _outbox(engine: AsyncEngine, unique: str) -> Table:
    table = outbox_table(service_metadata(f"ob_{unique}"))
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "ob_{unique}"'))
        await conn.run_sync(table.metadata.create_all)
    return table


def _items(topic: str, n: int = 5) -> list[tuple[str, str, Envelope]]:
    now = datetime.now(UTC)
    return [
        (
            topic,
            "t:tenant",
            make_envelope(
                id=f"e{i}",
                tenant_id="t",
                producer="test",
                time=now,
                data=TenantCreated(slug=f"s{i}"),
            ),
        )
        for i in range(n)
    ]


async def test_outbox_rows_are_relayed_in_order_after_commit_and_removed(
    engine: AsyncEngine, infra: Infra, unique: str
) -> None:
    table = await _outbox(engine, unique)
    prefix = f"{infra.topic_prefix}{unique}."
    await ensure_topics(infra.kafka_bootstrap, prefix, partitions=1, topics=[GOALS_CHANGES])
    topic = GOALS_CHANGES.qualified(prefix)
    items = _items(topic)
    sessions = session_factory(engine)
    with pytest.raises(RuntimeError):  # noqa: PT012 (the rollback is what is tested)
        async with unit_of_work(sessions) as session:
            await add_to_outbox(session, table, items[:1])
            raise RuntimeError("rolled back: nothing may be relayed")
    async with unit_of_work(sessions) as session:
        await add_to_outbox(session, table, items)

    producer = create_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        relay = OutboxRelay(engine=engine, table=table, producer=producer, service="test")
        assert await relay.relay_once() == 5
        assert await relay.relay_once() == 0
        assert await relay.backlog() == 0
    finally:
        await producer.stop()
    got = await _read_all(infra.kafka_bootstrap, topic, 5)
    assert [e.id for e in got] == ["e0", "e1", "e2", "e3", "e4"]


async def test_relay_holder_waits_for_kafka_then_relays_what_is_waiting(
    engine: AsyncEngine, infra: Infra, unique: str
) -> None:
    table = await _outbox(engine, unique)
    prefix = f"{infra.topic_prefix}{unique}."
    settings = ServiceSettings(
        kafka_bootstrap=infra.kafka_bootstrap, topic_prefix=prefix, topic_partitions=1
    )
    kafka = ProducerHandle(settings)
    holder = RelayHolder(kafka, engine=engine, table=table, service="test")
    topic = GOALS_CHANGES.qualified(prefix)
    async with unit_of_work(session_factory(engine)) as session:
        await add_to_outbox(session, table, _items(topic, 3))
    holder.notify()  # before Kafka: a no-op, nothing to wake yet
    assert await holder.backlog() == -1
    kafka.start()
    sup = Supervisor()
    sup.spawn("relay", holder.run)
    try:
        got = await _read_all(infra.kafka_bootstrap, topic, 3)
        assert [e.id for e in got] == ["e0", "e1", "e2"]
        for _ in range(200):  # rows go once Kafka acknowledged them
            if await holder.backlog() == 0:
                break
            await asyncio.sleep(0.05)
        assert await holder.backlog() == 0
    finally:
        await sup.stop()
        await kafka.stop()
