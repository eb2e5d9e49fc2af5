"""What the suite reads from outside the services (topics through kpi_common.topic_reads):
how far the evaluator has stored its metrics offsets (docs/operations.md: judge its progress
by the table, its offsets live in PostgreSQL, not in Kafka)."""

import asyncio
import time

import asyncpg
from kpi_common.topic_reads import end_offsets
from kpi_common.topics import METRICS_EVENTS

from chaos.stack import Stack

METRICS_GROUP = "evaluator.metrics"


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
            ends = await end_offsets(bootstrap, METRICS_EVENTS.name)
            return {tp.partition: n for tp, n in ends.items()}
        except Exception:  # aiokafka raises several kinds while a broker comes back
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.25)
