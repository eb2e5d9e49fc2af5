"""What the suite reads from outside the services: a topic's end offsets and messages, and
how far the evaluator has stored its metrics offsets (docs/operations.md: judge its progress
by the table, its offsets live in PostgreSQL, not in Kafka)."""

import asyncio
import time

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from kpi_common.events import Envelope, decode
from kpi_common.topics import METRICS_EVENTS

from chaos.stack import PARTITIONS, Stack

METRICS_GROUP = "evaluator.metrics"


def _partitions(topic: str) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in range(PARTITIONS)]


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        await consumer.start()
        ends = await consumer.end_offsets(_partitions(topic))
        return {tp.partition: int(n) for tp, n in ends.items()}
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, topic: str, timeout_s: float = 60.0) -> list[Envelope]:
    """Every committed message on `topic` up to its current end, in partition order."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    try:
        await consumer.start()
        partitions = _partitions(topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        out: list[Envelope] = []
        async with asyncio.timeout(timeout_s):
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                batch = await consumer.getmany(timeout_ms=200)
                out += [decode(r.value) for recs in batch.values() for r in recs]
        return out
    finally:
        await consumer.stop()


async def stored_offsets(dsn: str) -> dict[int, int]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT partition, next_offset FROM evaluator.consumer_offsets WHERE group_id = $1",
            METRICS_GROUP,
        )
        return {int(r["partition"]): int(r["next_offset"]) for r in rows}
    finally:
        await conn.close()


async def wait_caught_up(stack: Stack, timeout_s: float = 180.0) -> float:
    """Wait until the evaluator has stored offsets up to the end `metrics.events` had when
    this was called (its lag back to 0 for everything produced so far); the time it took."""
    started = time.monotonic()
    deadline = started + timeout_s
    ends = await _ends(stack.kafka.bootstrap, deadline)
    while True:
        try:
            stored = await stored_offsets(stack.postgres.dsn)
            if all(stored.get(p, 0) >= n for p, n in ends.items()):
                return time.monotonic() - started
        except (OSError, asyncpg.PostgresError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"evaluator not caught up with {ends} after {timeout_s:.0f}s")
        await asyncio.sleep(0.25)


async def _ends(bootstrap: str, deadline: float) -> dict[int, int]:
    while True:
        try:
            return await end_offsets(bootstrap, METRICS_EVENTS.name)
        except Exception:  # aiokafka raises several kinds while a broker comes back
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.25)
