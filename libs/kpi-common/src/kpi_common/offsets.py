"""Consumer offsets kept in Postgres beside the effects they cover, fenced.

A batch moves each of its partitions' stored offset from where the batch started (`start`,
the offset its consumer last stored or loaded) to past its last record (`next`), and only if
the stored offset is still `start`: a compare-and-set. Offsets only grow, so the committed
batches of a partition are contiguous and each record is applied once, whoever applies it.
A member that lost its partition (a pause, a long GC, a network partition past the session
timeout) and wakes up with a batch finds the offset moved by the new owner and is refused;
so is the loser when two members apply the same records at once. The advance is the first
write of the batch's transaction: its row lock makes a second applier of the same records
wait, then fail before doing any work, and the refusal rolls the transaction back whole.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiokafka import TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

# `start` of a partition with no stored offset: its advance inserts the row, and is refused
# when a row exists meanwhile (unless it holds 0: an operator's reset, read as from the start)
NOT_STORED = 0


@dataclass(frozen=True)
class Offsets:
    """A batch's place per partition: `start`, the stored offset it continues from
    (`NOT_STORED` when none is), and `next`, the offset to store once it is applied."""

    start: Mapping[TopicPartition, int]
    next: Mapping[TopicPartition, int]


class OffsetsFenced(Exception):
    """The stored offsets of some of a batch's partitions are no longer where the batch
    started: another member (or an earlier hand-off of the same records) applied them."""

    def __init__(self, refused: Sequence[TopicPartition]) -> None:
        self.refused = sorted(refused)
        names = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in self.refused)
        super().__init__(f"stored offsets moved on for {names}")


@dataclass(frozen=True)
class OffsetTable:
    """A service's offsets table (schema-qualified, from code, never from input) and, when
    the table keys its rows by consumer group, the group whose rows these are."""

    name: str
    group_id: str | None = None


def refused(offsets: Offsets, confirmed: set[TopicPartition]) -> list[TopicPartition]:
    """The partitions of the batch whose stored offset the advance did not move."""
    return [tp for tp in offsets.next if tp not in confirmed]


def _advance_sql(table: OffsetTable) -> str:
    scope = "o.group_id = :g AND " if table.group_id is not None else ""
    column, value = ("group_id, ", ":g, ") if table.group_id is not None else ("", "")
    return f"""
        WITH u AS (SELECT * FROM unnest(CAST(:t AS text[]), CAST(:p AS int[]),
                                        CAST(:s AS bigint[]), CAST(:n AS bigint[]))
                                 AS u(t, p, s, n)),
        moved AS (UPDATE {table.name} AS o SET next_offset = u.n FROM u
                  WHERE {scope}o.topic = u.t AND o.partition = u.p AND o.next_offset = u.s
                  RETURNING o.topic, o.partition),
        added AS (INSERT INTO {table.name} ({column}topic, partition, next_offset)
                  SELECT {value}t, p, n FROM u WHERE s = {NOT_STORED}
                  ON CONFLICT DO NOTHING RETURNING topic, partition)
        SELECT topic, partition FROM moved UNION ALL SELECT topic, partition FROM added"""


def _load_sql(table: OffsetTable) -> str:
    scope = "WHERE group_id = :g" if table.group_id is not None else ""
    return f"SELECT topic, partition, next_offset FROM {table.name} {scope}"


def _scope(table: OffsetTable) -> dict[str, str]:
    return {} if table.group_id is None else {"g": table.group_id}


class PgOffsetStore:
    """The offsets of one consumer group in its service's table: read on assignment,
    advanced (fenced) in the transaction of each batch."""

    def __init__(self, engine: AsyncEngine, table: OffsetTable) -> None:
        self._engine = engine
        self.table = table

    async def load(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """Next offset to read per partition; partitions not returned start from the earliest."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(text(_load_sql(self.table)), _scope(self.table))
            stored = {TopicPartition(r[0], r[1]): int(r[2]) for r in rows}
        return {tp: stored[tp] for tp in partitions if tp in stored}

    async def advance(self, session: AsyncSession, offsets: Offsets) -> None:
        """`advance_offsets` in this store's table."""
        await advance_offsets(session, self.table, offsets)


async def advance_offsets(session: AsyncSession, table: OffsetTable, offsets: Offsets) -> None:
    """Move the stored offsets from the batch's `start` to its `next`, in `session`'s
    transaction; call it first in that transaction. Raises `OffsetsFenced` (the caller's
    unit of work then rolls back whole) when any partition's offset moved meanwhile."""
    if not offsets.next:
        return
    items = sorted(offsets.next.items())
    rows = await session.execute(
        text(_advance_sql(table)),
        {
            **_scope(table),
            "t": [tp.topic for tp, _ in items],
            "p": [tp.partition for tp, _ in items],
            "s": [offsets.start.get(tp, NOT_STORED) for tp, _ in items],
            "n": [n for _, n in items],
        },
    )
    lost = refused(offsets, {TopicPartition(r[0], r[1]) for r in rows})
    if lost:
        raise OffsetsFenced(lost)
