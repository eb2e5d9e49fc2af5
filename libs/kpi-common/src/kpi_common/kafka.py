"""Kafka helpers: an idempotent `acks=all` producer, topic creation, and a batch consumer
with explicit offsets and a dead-letter path.

The consumer never lets Kafka auto-commit. Either the handler stores offsets itself (in
Postgres, in the same transaction as its effects, fenced: pass an `OffsetStore`, see
kpi_common.offsets and kpi_common.rebalance), or the loop commits them to Kafka after the
handler returned.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.protocol.metadata import MetadataRequest
from prometheus_client import Counter

from kpi_common.batches import PARTITIONER, Record, publish_records
from kpi_common.events import Envelope, MessageDeadLettered, encode, make_envelope
from kpi_common.logging import get_logger
from kpi_common.messages import Message as Message  # consumers import it from here
from kpi_common.offsets import Offsets as Offsets
from kpi_common.offsets import OffsetsFenced
from kpi_common.rebalance import OffsetStore as OffsetStore
from kpi_common.rebalance import SeekToStored, batch_offsets, positioned
from kpi_common.rebalance import next_offsets as next_offsets
from kpi_common.topics import ALL_TOPICS, DEAD_LETTER, Topic

log = get_logger(__name__)

CONSUMER_DEAD_LETTERED = Counter(
    "kpi_consumer_dead_lettered_total",
    "Consumed messages that could not be decoded, sent to the dead-letter topic",
    ["service"],
)
CONSUMER_FENCED = Counter(
    "kpi_consumer_fenced_batches_total",
    "Batches rolled back because another consumer had stored their partitions' offsets first",
    ["service"],
)


# How long a rebalance waits for a member to rejoin, so for its batch in flight to commit
# (aiokafka's default is the 10 s session timeout). A member slower than this is dropped from
# the group and its partitions given to others; its batch is then refused by the database fence.
REBALANCE_TIMEOUT_MS = 60_000


def create_producer(bootstrap: str, *, linger_ms: int = 5) -> AIOKafkaProducer:
    """The one producer configuration: idempotent, every in-sync replica acknowledges."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        partitioner=PARTITIONER,
        enable_idempotence=True,
        acks="all",
        linger_ms=linger_ms,
        max_batch_size=1024 * 1024,
        request_timeout_ms=10_000,
    )


async def ensure_topics(
    bootstrap: str,
    prefix: str,
    partitions: int,
    topics: Iterable[Topic] = ALL_TOPICS,
    replication_factor: int = 1,
) -> None:
    """Create the registry's topics when missing, each with `partitions` partitions on
    `replication_factor` brokers (their `min.insync.replicas` is the brokers' default);
    existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(t.qualified(prefix), partitions, replication_factor)
            for t in topics
            if t.qualified(prefix) not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
    finally:
        await admin.close()


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: str
    envelope: Envelope

    def encoded(self) -> bytes:
        return encode(self.envelope)


@dataclass(frozen=True)
class Encoded:
    """A message its producer encoded itself, for a hot path where building the `Envelope`
    costs more than the rest (metrics-ingest's `metric.observed`). The bytes must be what
    `encode` would give for the envelope: consumers `decode` them like any other."""

    topic: str
    key: str
    value: bytes

    def encoded(self) -> bytes:
        return self.value


async def publish(producer: AIOKafkaProducer, messages: Sequence[Outgoing | Encoded]) -> None:
    """Send every message and return only once Kafka acknowledged all of them."""
    await publish_records(
        producer, [Record(m.topic, m.key.encode(), m.encoded()) for m in messages]
    )


async def kafka_reachable(producer: AIOKafkaProducer, timeout_s: float = 2.0) -> bool:
    """True when a broker answers a metadata request within the timeout.

    The request names no topic (brokers only): fetching the whole cluster's metadata on
    every readiness probe costs a lot of CPU once a cluster holds thousands of topics.
    `asyncio.timeout`, not `asyncio.wait_for`: on Python 3.11, wait_for returns the answer
    instead of raising when the caller is cancelled in the instant the answer arrives, and
    the probe loop that lost its cancellation then ran on and hung the service's shutdown."""
    try:
        client = producer.client
        node = client.get_random_node()
        if node is None:
            return False
        async with asyncio.timeout(timeout_s):
            await client.send(node, MetadataRequest([], False))
    except (TimeoutError, KafkaError, OSError):
        return False
    return True


class Client(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


C = TypeVar("C", bound=Client)


@contextlib.asynccontextmanager
async def running(client: C) -> AsyncIterator[C]:
    """Start a Kafka client and stop it on every way out, a failed or cancelled `start()`
    included: a consumer never stopped warns from its finaliser, in whatever runs then."""
    try:
        await client.start()
        yield client
    finally:
        await client.stop()


BatchHandler = Callable[[list[Message], Offsets], Awaitable[None]]


class BatchConsumer:
    """decode -> handle -> commit, with a dead-letter path for undecodable messages.

    The handler receives the decoded messages and the batch's `Offsets` (per partition,
    where it starts and the next offset it covers). With an `OffsetStore`, the handler must
    advance those offsets itself, fenced, in its own transaction (`PgOffsetStore.advance`),
    and partitions change hands only between batches (kpi_common.rebalance); a batch whose
    advance is refused (`OffsetsFenced`) is dropped, counted, and reading goes on from the
    stored offsets. Without a store, the loop commits them to Kafka after the handler.
    Any other handler exception is retried with backoff (the batch is not skipped).
    """

    def __init__(
        self,
        *,
        bootstrap: str,
        topics: Sequence[str],
        group_id: str,
        producer: AIOKafkaProducer,
        dead_letter_topic: str,
        handler: BatchHandler,
        offset_store: OffsetStore | None = None,
        service: str,
        max_records: int = 1000,
        poll_timeout_ms: int = 200,
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=max_records,
            rebalance_timeout_ms=REBALANCE_TIMEOUT_MS,
        )
        self._topics = list(topics)
        self._producer = producer
        self._dlq = dead_letter_topic
        self._handler = handler
        self._store = offset_store
        self._service = service
        self._max_records = max_records
        self._poll_timeout_ms = poll_timeout_ms
        self._positions: dict[TopicPartition, int] = {}
        self._starts: dict[TopicPartition, int] = {}  # with a store: where each partition starts
        self._in_flight = asyncio.Lock()  # held while a batch is applied
        self._listener = (
            SeekToStored(self._consumer, offset_store, self._starts, self._in_flight)
            if offset_store is not None
            else None
        )
        self.dead_lettered = 0
        self.fenced = 0
        CONSUMER_DEAD_LETTERED.labels(service)  # the series exists from 0, for increase()
        CONSUMER_FENCED.labels(service)
        self.processed = 0

    async def start(self) -> None:
        if self._listener is None:
            self._consumer.subscribe(self._topics)
        else:
            self._consumer.subscribe(self._topics, listener=self._listener)
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    def lag(self) -> int:
        """Messages behind the high watermark, over the partitions this consumer has read."""
        total = 0
        for tp, position in self._positions.items():
            high = self._consumer.highwater(tp)
            if high is not None:
                total += max(0, high - position)
        return total

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            batch = await self._consumer.getmany(
                timeout_ms=self._poll_timeout_ms, max_records=self._max_records
            )
            records = [r for recs in batch.values() for r in recs]
            if records:
                await self._apply(records)

    async def _apply(self, records: list[ConsumerRecord]) -> None:
        """Process the batch, retried with backoff until it goes through. With a store, the
        rebalance listener waits while an attempt runs, and each attempt hands on only the
        records of partitions still held (from their start on): a partition given up between
        attempts is its new owner's to read, from the stored offset."""
        backoff = 0.2
        while True:
            async with self._in_flight:
                if self._store is not None:
                    records = positioned(records, self._starts)
                if not records:
                    return
                try:
                    await self.process(records)
                    return
                except OffsetsFenced as fenced:
                    await self._fenced(fenced, records)
                    return
                except Exception:
                    log.exception("batch failed, retrying", records=len(records), backoff=backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    async def _fenced(self, fenced: OffsetsFenced, records: list[ConsumerRecord]) -> None:
        """The batch rolled back whole: some of its records were applied by someone else.
        Every partition of the batch still held reads on from what is stored now (the
        fetcher's position is past the whole batch, the partitions not refused included)."""
        log.warning(
            "batch fenced: another consumer stored these partitions' offsets first; "
            "rolled back whole, reading on from the stored offsets",
            partitions=[f"{tp.topic}[{tp.partition}]" for tp in fenced.refused],
            service=self._service,
        )
        CONSUMER_FENCED.labels(self._service).inc()
        self.fenced += 1
        assert self._listener is not None  # only a store's advance raises OffsetsFenced
        held = [tp for tp in next_offsets(records) if tp in self._starts]
        await self._listener.seek_stored(held)

    async def process(self, records: list[ConsumerRecord]) -> None:
        messages, rejected = decode_records(records, self._dlq, self._service)
        if rejected:
            await dead_letter(self._producer, rejected, self._service)
            self.dead_lettered += len(rejected)
        offsets = batch_offsets(records, self._starts)
        await self._handler(messages, offsets)
        if self._store is None:
            await self._consumer.commit(dict(offsets.next))
        self._positions.update(offsets.next)
        for tp, next_offset in offsets.next.items():  # a record handed on is never handed on again
            if tp in self._starts:
                self._starts[tp] = max(self._starts[tp], next_offset)
        self.processed += len(records)


def decode_records(
    records: Iterable[ConsumerRecord], dlq: str, service: str
) -> tuple[list[Message], list[Outgoing]]:
    """The records decoded, and a dead letter (to `dlq`) for each that does not decode."""
    messages: list[Message] = []
    rejected: list[Outgoing] = []
    for r in records:
        try:
            messages.append(Message.from_record(r))
        except ValueError as exc:
            rejected.append(_dead_letter(r, str(exc), dlq, service))
    return messages, rejected


async def dead_letter(
    producer: AIOKafkaProducer, rejected: Sequence[Outgoing], service: str
) -> None:
    """Publish dead letters (acknowledged by Kafka on return) and count them."""
    await publish(producer, rejected)
    CONSUMER_DEAD_LETTERED.labels(service).inc(len(rejected))


def _dead_letter(record: ConsumerRecord, reason: str, dlq: str, service: str) -> Outgoing:
    """Its id names the record (topic:partition:offset): the same record dead-lettered again
    is the same dead letter."""
    log.warning("dead-lettered", topic=record.topic, offset=record.offset, reason=reason[:300])
    raw = record.value.decode("utf-8", errors="replace") if record.value else ""
    data = MessageDeadLettered(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        reason=reason[:2000],
        raw=raw[:100_000],
    )
    env = make_envelope(
        id=f"{record.topic}:{record.partition}:{record.offset}",
        tenant_id="unknown",
        producer=service,
        time=datetime.now(UTC),
        data=data,
    )
    return Outgoing(dlq, f"{record.topic}:{record.partition}", env)


def dead_letter_topic(prefix: str) -> str:
    return DEAD_LETTER.qualified(prefix)
