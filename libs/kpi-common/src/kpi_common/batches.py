"""The producer's hot path: records sent as one aiokafka batch per partition, acknowledged
with one future per batch rather than one per message.

aiokafka's batch API (`create_batch`/`send_batch`) has three traps, which `publish_records`
steps around (docs/benchmarks.md, "Tuning that matters", has the aiokafka lines):
- `send_batch` waits until the partition's previous batch left aiokafka's queue. Several
  callers waiting on one partition all wake at each drain and loop, and the loop subtracts
  the time since its *first* wait on every turn, so it gives up (KafkaTimeoutError) after
  ~1 s instead of `request_timeout_ms`. Here one caller per partition submits at a time.
- It checks that the producer is open only on entry: a caller still waiting inside it when
  `stop()` begins appends its batch after `stop()` took the list of batches to flush, so the
  batch is never sent and its future never resolves. Here every publish is bounded.
- A queued batch whose partition has no known leader (a topic just created) is failed once
  older than `request_timeout_ms`. Here a batch is submitted only once the leader is known.
"""

import asyncio
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

PUBLISH_TIMEOUT_S = 30.0


class CachedPartitioner:
    """Kafka's default partitioner (murmur2 of the key, as the Java client), remembered per
    key: aiokafka's pure-Python murmur2 costs ~40 µs a message, and keys such as
    `tenant_id:metric` repeat constantly. Same partition for the same key as the default."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._max_keys = max_keys
        self._cache: dict[tuple[bytes, int], int] = {}

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            return int(DefaultPartitioner()(key, all_partitions, available))
        cache_key = (key, len(all_partitions))
        partition = self._cache.get(cache_key)
        if partition is None:
            if len(self._cache) >= self._max_keys:
                self._cache.clear()
            partition = int(DefaultPartitioner()(key, all_partitions, available))
            self._cache[cache_key] = partition
        return partition


PARTITIONER = CachedPartitioner()


@dataclass(frozen=True, slots=True)
class Record:
    """A message already encoded (hot paths build the JSON themselves)."""

    topic: str
    key: bytes
    value: bytes


async def publish_records(
    producer: AIOKafkaProducer, records: Sequence[Record], *, timeout_s: float = PUBLISH_TIMEOUT_S
) -> None:
    """Send the records as one batch per partition (same partition per key as `send`) and
    return once Kafka acknowledged all; raise (KafkaError, TimeoutError) otherwise, after at
    most `timeout_s`. One future per batch: a future per message, resolved and gathered one
    by one, cost a fifth of ingest's CPU."""
    futures: list[asyncio.Future[object]] = []
    try:
        async with asyncio.timeout(timeout_s):
            for (topic, partition), group in (await _by_partition(producer, records)).items():
                futures += await _submit(producer, TopicPartition(topic, partition), group)
            await asyncio.gather(*futures)
    finally:
        for future in futures:
            future.cancel()  # after a failure, no batch's outcome is left unobserved


async def _submit(
    producer: AIOKafkaProducer, tp: TopicPartition, group: list[Record]
) -> list[asyncio.Future[object]]:
    """Queue the group as closed batches, one caller per partition at a time, once the
    partition's leader is known (see the module's docstring)."""
    async with _partition_lock(producer, tp):
        await _leader_known(producer, tp)
        return [
            await producer.send_batch(batch, tp.topic, partition=tp.partition)
            for batch in _batches(producer, group)
        ]


def _batches(producer: AIOKafkaProducer, group: list[Record]) -> Iterator[BatchBuilder]:
    """Closed batches holding the group in order (closed: aiokafka sends it at once instead
    of lingering, and appends nothing of `send` to it)."""
    batch = producer.create_batch()
    for r in group:
        if batch.append(key=r.key, value=r.value, timestamp=None) is None:
            if batch.record_count() == 0:
                raise MessageSizeTooLargeError("a record does not fit in an empty batch")
            yield batch
            batch = producer.create_batch()
            if batch.append(key=r.key, value=r.value, timestamp=None) is None:
                raise MessageSizeTooLargeError("a record does not fit in an empty batch")
    batch.close()
    yield batch


_LOCKS: "weakref.WeakKeyDictionary[AIOKafkaProducer, dict[TopicPartition, asyncio.Lock]]" = (
    weakref.WeakKeyDictionary()
)


def _partition_lock(producer: AIOKafkaProducer, tp: TopicPartition) -> asyncio.Lock:
    return _LOCKS.setdefault(producer, {}).setdefault(tp, asyncio.Lock())


async def _leader_known(producer: AIOKafkaProducer, tp: TopicPartition) -> None:
    """Wait (bounded by the caller) until the metadata names the partition's leader."""
    while producer.client.cluster.leader_for_partition(tp) in (None, -1):
        await producer.client.force_metadata_update()
        await asyncio.sleep(0.05)


async def _by_partition(
    producer: AIOKafkaProducer, records: Sequence[Record]
) -> dict[tuple[str, int], list[Record]]:
    partitions: dict[str, list[int]] = {}
    out: dict[tuple[str, int], list[Record]] = {}
    for r in records:
        if r.topic not in partitions:
            partitions[r.topic] = sorted(await producer.partitions_for(r.topic))
        every = partitions[r.topic]
        out.setdefault((r.topic, PARTITIONER(r.key, every, every)), []).append(r)
    return out
