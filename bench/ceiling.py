"""(a) The ceiling: raw aiokafka produce-then-consume on the broker the services use, with the
services' producer settings (idempotent, acks=all) and metric-event-sized payloads."""

import asyncio
import os
import time
import uuid

from aiokafka import AIOKafkaConsumer
from kpi_common.kafka import create_producer

from bench.table import Row

N = 100_000
PAYLOAD = b'{"id":"evt-000000","type":"metric.observed","version":1,' + b"x" * 300 + b"}"


async def measure(bootstrap: str) -> list[Row]:
    topic = f"{os.environ.get('KPI_TOPIC_PREFIX', '')}bench-ceiling-{uuid.uuid4().hex[:8]}"
    producer = create_producer(bootstrap)
    await producer.start()
    try:
        start = time.perf_counter()
        futures = [
            await producer.send(topic, PAYLOAD, key=f"t:m{i % 64}".encode()) for i in range(N)
        ]
        await asyncio.gather(*futures)
        produced = time.perf_counter() - start
    finally:
        await producer.stop()
    consumed = await _consume(bootstrap, topic)
    total = produced + consumed
    return [
        Row("(a) ceiling: produce, acks=all", N / produced, "events/s"),
        Row("(a) ceiling: consume", N / consumed, "events/s"),
        Row("(a) ceiling: produce then consume", N / total, "events/s"),
    ]


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
