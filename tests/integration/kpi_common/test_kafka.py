"""The producer and batch consumer helpers against the real broker."""

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from kpi_common.events import Envelope, MetricObserved, decode, make_envelope
from kpi_common.kafka import (
    BatchConsumer,
    Message,
    Outgoing,
    create_producer,
    ensure_topics,
    publish,
    running,
)
from kpi_common.topics import DEAD_LETTER, METRICS_EVENTS
from prometheus_client import REGISTRY

from tests.conftest import Infra

pytestmark = pytest.mark.integration


def _event(i: int, tenant: str) -> Outgoing:
    now = datetime.now(UTC)
    data = MetricObserved(metric="crm.deal.won", value=i, time=now, received_at=now)
    env = make_envelope(id=f"evt-{i}", tenant_id=tenant, producer="test", time=now, data=data)
    return Outgoing("", f"{tenant}:crm.deal.won", env)


def dead_lettered_counted() -> float:
    """What `/metrics` shows for this test's consumers (service="test")."""
    value = REGISTRY.get_sample_value("kpi_consumer_dead_lettered_total", {"service": "test"})
    return value or 0.0


async def test_published_events_are_consumed_once_and_garbage_is_dead_lettered(
    infra: Infra, unique: str
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    await ensure_topics(infra.kafka_bootstrap, prefix, partitions=3)
    topic = METRICS_EVENTS.qualified(prefix)
    producer = create_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        sent = [_event(i, "t1") for i in range(50)]
        await publish(producer, [Outgoing(topic, m.key, m.envelope) for m in sent])
        await producer.send_and_wait(topic, b"{not json", key=b"t1:crm.deal.won")

        seen: list[Message] = []
        before = dead_lettered_counted()
        consumer = BatchConsumer(
            bootstrap=infra.kafka_bootstrap,
            topics=[topic],
            group_id=f"g-{unique}",
            producer=producer,
            dead_letter_topic=DEAD_LETTER.qualified(prefix),
            handler=lambda msgs, _offsets: _collect(seen, msgs),
            service="test",
        )
        async with running(consumer):
            task = asyncio.create_task(consumer.run())
            try:
                async with asyncio.timeout(30):
                    while len(seen) < 50 or consumer.dead_lettered < 1:  # noqa: ASYNC110
                        await asyncio.sleep(0.1)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        assert sorted(m.envelope.id for m in seen) == sorted(f"evt-{i}" for i in range(50))
        assert consumer.dead_lettered == 1
        assert dead_lettered_counted() == before + 1
        dlq = await _read_all(infra.kafka_bootstrap, DEAD_LETTER.qualified(prefix), 1)
        assert dlq[0].data["reason"].startswith("not a valid envelope")
        assert dlq[0].data["raw"] == "{not json"
    finally:
        await producer.stop()


async def _collect(into: list[Message], msgs: list[Message]) -> None:
    into.extend(msgs)


async def _read_all(bootstrap: str, topic: str, expected: int) -> list[Envelope]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
    )
    consumer.subscribe([topic])
    out: list[Envelope] = []
    try:
        await consumer.start()
        async with asyncio.timeout(20):
            while len(out) < expected:
                batch = await consumer.getmany(timeout_ms=200)
                out += [decode(r.value) for recs in batch.values() for r in recs]
    finally:
        await consumer.stop()
    return out


async def test_consumer_commits_so_a_restart_resumes_after_the_last_batch(
    infra: Infra, unique: str
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    await ensure_topics(infra.kafka_bootstrap, prefix, partitions=1)
    topic = METRICS_EVENTS.qualified(prefix)
    producer = create_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        await publish(
            producer,
            [Outgoing(topic, m.key, m.envelope) for m in (_event(i, "t") for i in range(10))],
        )
        first = await _drain(infra, topic, unique, producer, 10)
        await publish(
            producer,
            [Outgoing(topic, m.key, m.envelope) for m in (_event(i, "t") for i in range(10, 15))],
        )
        second = await _drain(infra, topic, unique, producer, 5)
    finally:
        await producer.stop()
    assert len(first) == 10
    assert [m.envelope.id for m in second] == [f"evt-{i}" for i in range(10, 15)]
    assert second[0].offset == 10


async def _drain(infra: Infra, topic: str, unique: str, producer, n: int) -> list[Message]:  # type: ignore[no-untyped-def]
    seen: list[Message] = []
    consumer = BatchConsumer(
        bootstrap=infra.kafka_bootstrap,
        topics=[topic],
        group_id=f"resume-{unique}",
        producer=producer,
        dead_letter_topic=topic + ".dlq",
        handler=lambda msgs, _o: _collect(seen, msgs),
        service="test",
    )
    async with running(consumer):
        task = asyncio.create_task(consumer.run())
        try:
            async with asyncio.timeout(30):
                while len(seen) < n:  # noqa: ASYNC110 (filled by the consumer task)
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    return seen


class _SlowStore:
    """Offsets kept outside Kafka that take a while to load (a busy database)."""

    def __init__(self, offsets: dict[TopicPartition, int]) -> None:
        self.offsets = offsets

    async def load(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        await asyncio.sleep(1.0)  # meanwhile the fetcher reads from Kafka's reset position
        return {tp: n for tp, n in self.offsets.items() if tp in partitions}


async def test_a_stored_offset_consumer_never_hands_on_records_before_its_offsets(
    infra: Infra, unique: str
) -> None:
    """The stored offsets load while the fetcher already reads from the earliest offset: what
    it read before the seek is never handled (it was handled when first consumed)."""
    prefix = f"{infra.topic_prefix}{unique}."
    await ensure_topics(infra.kafka_bootstrap, prefix, partitions=1)
    topic = METRICS_EVENTS.qualified(prefix)
    producer = create_producer(infra.kafka_bootstrap)
    await producer.start()
    seen: list[Message] = []
    try:
        events = [_event(i, "t") for i in range(30)]
        await publish(producer, [Outgoing(topic, m.key, m.envelope) for m in events])
        consumer = BatchConsumer(
            bootstrap=infra.kafka_bootstrap,
            topics=[topic],
            group_id=f"stored-{unique}",
            producer=producer,
            dead_letter_topic=topic + ".dlq",
            handler=lambda msgs, _o: _collect(seen, msgs),
            offset_store=_SlowStore({TopicPartition(topic, 0): 20}),
            service="test",
            max_records=5,
        )
        async with running(consumer):
            task = asyncio.create_task(consumer.run())
            try:
                async with asyncio.timeout(30):
                    while len({m.offset for m in seen}) < 10:  # noqa: ASYNC110
                        await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
    finally:
        await producer.stop()
    assert [m.offset for m in seen] == list(range(20, 30))
