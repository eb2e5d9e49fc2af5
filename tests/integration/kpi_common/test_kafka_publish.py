"""The batch publish against the real broker, in the conditions that once hung metrics-ingest:
a topic created on the fly (the broker answers NotLeaderForPartition for a moment), many
concurrent publishers on the same partitions, and the producer stopped right after."""

import asyncio
import uuid
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from kpi_common.batches import Record, publish_records
from kpi_common.kafka import create_producer

from tests.conftest import Infra

pytestmark = pytest.mark.integration

TASKS = 12
ROUNDS = 6
PER_ROUND = 100


def _round(topic: str, task: int, rnd: int) -> list[Record]:
    return [
        Record(topic, f"t{task}:k{i % 7}".encode(), f"{task}:{rnd}:{i}".encode())
        for i in range(PER_ROUND)
    ]


async def _fresh_topic(infra: Infra, producer: AIOKafkaProducer) -> tuple[str, int]:
    """A topic of this run's own, created now by the first metadata request for it (the
    broker creates topics on first use); its name and number of partitions."""
    name = f"{infra.topic_prefix}{uuid.uuid4().hex[:8]}.batch"
    return name, len(await producer.partitions_for(name))


async def test_concurrent_batches_right_after_topic_creation_are_all_acknowledged_in_order(
    infra: Infra,
) -> None:
    producer = create_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        topic, partitions = await _fresh_topic(infra, producer)

        async def publisher(task: int) -> None:
            for rnd in range(ROUNDS):
                await publish_records(producer, _round(topic, task, rnd))

        async with asyncio.timeout(120):
            await asyncio.gather(*(publisher(n) for n in range(TASKS)))
    finally:
        async with asyncio.timeout(30):
            await producer.stop()
    values = await _read(infra.kafka_bootstrap, topic, partitions)
    assert sum(len(v) for v in values.values()) == TASKS * ROUNDS * PER_ROUND
    for key, seen in values.items():
        order = [tuple(int(x) for x in v.split(b":")[1:]) for v in seen]
        assert order == sorted(order), key  # per key, in the order each publisher sent
        assert len(set(order)) == len(order), key  # and each once


async def test_stopping_the_producer_under_load_ends_every_publish_and_the_stop(
    infra: Infra,
) -> None:
    producer = create_producer(infra.kafka_bootstrap)
    await producer.start()
    topic, _ = await _fresh_topic(infra, producer)
    outcomes: list[str] = []

    async def publisher(task: int) -> None:
        for rnd in range(1000):
            try:
                await publish_records(producer, _round(topic, task, rnd))
            except (KafkaError, TimeoutError) as exc:
                outcomes.append(type(exc).__name__)
                return
        outcomes.append("all sent")

    tasks = [asyncio.create_task(publisher(n)) for n in range(TASKS)]
    await asyncio.sleep(0.5)
    async with asyncio.timeout(60):  # a publish gives up after 30 s at most
        await producer.stop()
        await asyncio.gather(*tasks)
    assert len(outcomes) == TASKS


async def _read(bootstrap: str, topic: str, partitions_n: int) -> dict[bytes, list[bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(partitions_n)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        out: dict[bytes, list[bytes]] = defaultdict(list)
        async with asyncio.timeout(60):
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                batch = await consumer.getmany(timeout_ms=200)
                for recs in batch.values():
                    for r in recs:
                        out[r.key].append(r.value)
        return out
    finally:
        await consumer.stop()
