"""SQL of the archive fill (migration 0010): the marker per metrics consumer group, each
partition's bounds and progress, and the lock that lets one process fill at a time."""

import zlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from aiokafka import TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from kpi_evaluator.strategy_repo import Executor


@dataclass(frozen=True)
class FillPartition:
    topic: str
    partition: int
    until_offset: int  # the stored offset at the upgrade: filled up to it, excluded
    next_offset: int  # the next offset to archive
    not_retained: int  # offsets Kafka no longer held when the fill came to them

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)

    @property
    def remaining(self) -> int:
        return max(0, self.until_offset - self.next_offset)


@dataclass(frozen=True)
class Fill:
    group_id: str
    finished_at: datetime | None
    partitions: list[FillPartition]

    @property
    def offsets_total(self) -> int:
        return sum(p.until_offset for p in self.partitions)

    @property
    def offsets_done(self) -> int:
        return sum(min(p.next_offset, p.until_offset) for p in self.partitions)

    @property
    def not_retained(self) -> int:
        return sum(p.not_retained for p in self.partitions)


async def load(conn: Executor, group_id: str) -> Fill | None:
    """The group's fill; None when there is none (a fresh installation)."""
    marker = (
        await conn.execute(
            text("SELECT finished_at FROM evaluator.archive_fills WHERE group_id = :g"),
            {"g": group_id},
        )
    ).first()
    if marker is None:
        return None
    rows = await conn.execute(
        text("""SELECT topic, partition, until_offset, next_offset, not_retained
                FROM evaluator.archive_fill_partitions WHERE group_id = :g
                ORDER BY topic, partition"""),
        {"g": group_id},
    )
    parts = [FillPartition(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]
    return Fill(group_id, marker[0], parts)


async def unfinished(conn: Executor, group_id: str) -> bool:
    row = await conn.execute(
        text("""SELECT 1 FROM evaluator.archive_fills
                WHERE group_id = :g AND finished_at IS NULL"""),
        {"g": group_id},
    )
    return row.first() is not None


async def skip_unretained(
    session: AsyncSession, group_id: str, tp: TopicPartition, earliest: int
) -> None:
    """Kafka's earliest offset is past the progress: those offsets cannot be archived."""
    await session.execute(
        text("""UPDATE evaluator.archive_fill_partitions
                SET not_retained = not_retained + (LEAST(:e, until_offset) - next_offset),
                    next_offset = LEAST(:e, until_offset)
                WHERE group_id = :g AND topic = :t AND partition = :p
                  AND next_offset < LEAST(:e, until_offset)"""),
        {"g": group_id, "t": tp.topic, "p": tp.partition, "e": earliest},
    )


async def advance(
    session: AsyncSession, group_id: str, offsets: Mapping[TopicPartition, int]
) -> None:
    """The batch's progress, in the batch's transaction (never backwards)."""
    items = sorted(offsets.items(), key=lambda kv: (kv[0].topic, kv[0].partition))
    await session.execute(
        text("""UPDATE evaluator.archive_fill_partitions AS f
                SET next_offset = GREATEST(f.next_offset, LEAST(u.n, f.until_offset))
                FROM unnest(CAST(:t AS text[]), CAST(:p AS int[]), CAST(:n AS bigint[]))
                  AS u(t, p, n)
                WHERE f.group_id = :g AND f.topic = u.t AND f.partition = u.p"""),
        {
            "g": group_id,
            "t": [tp.topic for tp, _ in items],
            "p": [tp.partition for tp, _ in items],
            "n": [n for _, n in items],
        },
    )


async def finish(session: AsyncSession, group_id: str) -> None:
    await session.execute(
        text("""UPDATE evaluator.archive_fills SET finished_at = now()
                WHERE group_id = :g AND finished_at IS NULL"""),
        {"g": group_id},
    )


@asynccontextmanager
async def filling(engine: AsyncEngine, group_id: str) -> AsyncIterator[None]:
    """Held by the one process that fills the group's archive (others wait for it): a
    session lock on a connection of its own, released when the block ends or the
    connection drops."""
    key = zlib.crc32(f"evaluator-archive-fill:{group_id}".encode())
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        await conn.commit()  # the lock is the session's: no transaction stays open
        try:
            yield
        finally:
            try:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
            except Exception:
                await conn.invalidate()  # never back to the pool with the lock held
                raise
