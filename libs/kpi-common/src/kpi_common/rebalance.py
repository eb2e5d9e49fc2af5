"""How a consumer whose offsets live in Postgres changes hands on a rebalance.

Partitions change hands only between batches: when the group rebalances, the listener waits
for the batch in flight to commit (or give up) before it lets the partitions go, and a member
given partitions starts each from the offset stored in Postgres, read after every member let
go (Kafka runs every member's revoke before any member's assignment). Records handed on are
the assigned partitions' records from their stored offset on, so nothing fetched before a
seek, nor for a partition given up meanwhile, is applied. A member that cannot let go in time
(paused past the session timeout) is fenced by the database instead (kpi_common.offsets).
"""

import asyncio
from collections.abc import Iterable, Sequence
from typing import Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import IllegalStateError

from kpi_common.logging import get_logger
from kpi_common.offsets import NOT_STORED, Offsets

log = get_logger(__name__)


class OffsetStore(Protocol):
    """Where a consumer's offsets live when they are stored with its effects (Postgres)."""

    async def load(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """Next offset to read per partition; partitions not returned start from the earliest."""
        ...


def next_offsets(records: Iterable[ConsumerRecord]) -> dict[TopicPartition, int]:
    """The offset to resume from per partition: one past the highest record seen."""
    out: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        out[tp] = max(out.get(tp, 0), r.offset + 1)
    return out


def positioned(
    records: Iterable[ConsumerRecord], starts: dict[TopicPartition, int]
) -> list[ConsumerRecord]:
    """The records of partitions this member holds, from each one's start on (a record before
    it was read from a position the seek replaced, and is applied already)."""
    kept = []
    for r in records:
        start = starts.get(TopicPartition(r.topic, r.partition))
        if start is not None and r.offset >= start:
            kept.append(r)
    return kept


def batch_offsets(records: Iterable[ConsumerRecord], starts: dict[TopicPartition, int]) -> Offsets:
    """Where the batch continues from (the partitions' starts) and where it ends."""
    ends = next_offsets(records)
    return Offsets(start={tp: starts.get(tp, NOT_STORED) for tp in ends}, next=ends)


class SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    """Keeps `starts` (the next offset to hand on per held partition) for a consumer that
    holds `in_flight` while it applies a batch. While the stored offsets load, the fetcher may
    already read from Kafka's reset position (the earliest): `positioned` drops those."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        store: OffsetStore,
        starts: dict[TopicPartition, int],
        in_flight: asyncio.Lock,
    ) -> None:
        self._consumer = consumer
        self._store = store
        self._starts = starts
        self._in_flight = in_flight

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        if self._in_flight.locked():
            log.info("rebalance: the batch in flight finishes before its partitions are given up")
        async with self._in_flight:  # the batch being applied commits or gives up first
            for tp in revoked:
                self._starts.pop(tp, None)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        async with self._in_flight:
            await self.seek_stored(list(assigned))

    async def seek_stored(self, partitions: Sequence[TopicPartition]) -> None:
        """Seek `partitions` to their stored offsets (the caller holds `in_flight`)."""
        stored = await retried_load(self._store, partitions)
        for tp in partitions:
            try:
                if tp in stored:
                    self._consumer.seek(tp, stored[tp])
                else:
                    await self._consumer.seek_to_beginning(tp)
            except IllegalStateError:  # given up meanwhile: its next assignment seeks it
                self._starts.pop(tp, None)
                continue
            self._starts[tp] = stored.get(tp, NOT_STORED)
        log.info("partitions start from their stored offsets", starts=_names(stored))


async def retried_load(
    store: OffsetStore, partitions: Sequence[TopicPartition]
) -> dict[TopicPartition, int]:
    """The stored offsets, retried with backoff while the database does not answer: a
    partition whose offset is unknown is not consumed at all."""
    backoff = 0.2
    while True:
        try:
            return await store.load(partitions)
        except Exception:
            log.exception("stored offsets did not load, retrying", backoff=backoff)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, 10.0)


def _names(offsets: dict[TopicPartition, int]) -> dict[str, int]:
    return {f"{tp.topic}[{tp.partition}]": n for tp, n in sorted(offsets.items())}
