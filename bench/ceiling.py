"""(a) The ceiling: raw aiokafka produce-then-consume on the broker the services use, with the
services' producer settings (idempotent, acks=all) and metric-event-sized payloads."""

import asyncio
import os
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kpi_common.kafka import create_producer, ensure_topics
from kpi_common.topic_admin import drop_topics
from kpi_common.topics import Topic

from bench.table import Row

N = 100_000
WARM_UP = 20_000  # untimed, so a broker started a moment ago is measured with its JIT warm
PARTITIONS = 6  # as the services' topics (KPI_TOPIC_PARTITIONS' default)
PAYLOAD = b'{"id":"evt-000000","type":"metric.observed","version":1,' + b"x" * 300 + b"}"


async def measure(bootstrap: str) -> list[Row]:
    prefix = os.environ.get("KPI_TOPIC_PREFIX", "")
    run = uuid.uuid4().hex[:8]
    warm = await _create(bootstrap, prefix, f"bench-ceiling-{run}-warm")
    topic = await _create(bootstrap, prefix, f"bench-ceiling-{run}")
    producer = create_producer(bootstrap)
    await producer.start()
    try:
        await _produce(producer, warm, WARM_UP)
        start = time.perf_counter()
        await _produce(producer, topic, N)
        produced = time.perf_counter() - start
    finally:
        await producer.stop()
    consumed = await _consume(bootstrap, topic)
    await drop_topics(bootstrap, f"{prefix}bench-ceiling-{run}")
    total = produced + consumed
    return [
        Row("(a) ceiling: produce, acks=all", N / produced, "events/s"),
        Row("(a) ceiling: consume", N / consumed, "events/s"),
        Row("(a) ceiling: produce then consume", N / total, "events/s"),
    ]


async def _create(bootstrap: str, prefix: str, name: str) -> str:
    """Create the topic up front, as the services' topics are (not auto-created by the first
    send, which only measures metadata retries)."""
    topic = Topic(name, "bench", ("bench",), "tenant_id:metric", (), "the bench's ceiling")
    await ensure_topics(bootstrap, prefix, PARTITIONS, [topic])
    return topic.qualified(prefix)


async def _produce(producer: AIOKafkaProducer, topic: str, n: int) -> None:
    futures = [await producer.send(topic, PAYLOAD, key=f"t:m{i % 64}".encode()) for i in range(n)]
    await asyncio.gather(*futures)


async def _consume(bootstrap: str, topic: str) -> float:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=f"bench-{uuid.uuid4().hex[:6]}",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    try:
        await consumer.start()
        start = time.perf_counter()
        seen = 0
        while seen < N:
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            seen += sum(len(v) for v in batch.values())
        return time.perf_counter() - start
    finally:
        await consumer.stop()
