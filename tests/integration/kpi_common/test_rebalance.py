"""Partitions changing hands in a consumer group whose offsets live in Postgres, against the
real Kafka and Postgres: a rebalance forced in the middle of a batch, and two members that
each believe they hold the same partitions (what a member paused past its session timeout
believes). Every record is applied exactly once, and never by two members at once."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import pytest
import structlog
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from kpi_common.db import session_factory, unit_of_work
from kpi_common.kafka import (
    BatchConsumer,
    Message,
    Outgoing,
    create_producer,
    ensure_topics,
    publish,
    running,
)
from kpi_common.offsets import Offsets, OffsetTable, PgOffsetStore
from kpi_common.topic_reads import end_offsets
from kpi_common.topics import METRICS_EVENTS
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Infra
from tests.integration.kpi_common.test_kafka import _event

pytestmark = pytest.mark.integration

PARTITIONS = 4


class Group:
    """What the members of one test share: the tables, and who applies which partition now."""

    def __init__(self, engine: AsyncEngine, schema: str) -> None:
        self.engine = engine
        self.schema = schema
        self.active: dict[TopicPartition, str] = {}
        self.overlaps: list[tuple[str, str, TopicPartition]] = []

    def store(self, group_id: str) -> PgOffsetStore:
        return PgOffsetStore(self.engine, OffsetTable(f"{self.schema}.offsets", group_id))

    async def apply_as(
        self, member: str, store: PgOffsetStore, records: dict[TopicPartition, range]
    ) -> None:
        """Apply these records as a member of the group would (offsets advanced, fenced)."""
        starts = await store.load(list(records))
        offsets = Offsets(
            {tp: starts.get(tp, 0) for tp in records}, {tp: r.stop for tp, r in records.items()}
        )
        async with unit_of_work(session_factory(self.engine)) as session:
            await store.advance(session, offsets)
            await session.execute(
                text(f"INSERT INTO {self.schema}.applied VALUES (:t, :p, :o, :m)"),
                [
                    {"t": tp.topic, "p": tp.partition, "o": o, "m": member}
                    for tp, r in records.items()
                    for o in r
                ],
            )

    async def applied(self) -> list[tuple[str, int, int, str]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(f"SELECT topic, partition, record, member FROM {self.schema}.applied")
            )
            return [(r[0], r[1], r[2], r[3]) for r in rows]


class Member:
    """A handler that applies each record as a row, its offsets advanced first in the same
    transaction; `hold` runs in the middle of the batch (after the advance and the rows)."""

    def __init__(self, name: str, group: Group, store: PgOffsetStore) -> None:
        self.name = name
        self._group = group
        self.store = store
        self._sessions = session_factory(group.engine)
        self.batches = 0
        self.before: Callable[[int], Awaitable[None]] = _nothing
        self.hold: Callable[[Offsets], Awaitable[None]] = _nothing

    async def __call__(self, messages: list[Message], offsets: Offsets) -> None:
        self.batches += 1
        n = self.batches
        await self.before(n)
        mine = list(offsets.next)
        for tp in mine:
            other = self._group.active.setdefault(tp, self.name)
            if other != self.name:
                self._group.overlaps.append((self.name, other, tp))
        try:
            async with unit_of_work(self._sessions) as session:
                await self.store.advance(session, offsets)
                await session.execute(
                    text(f"INSERT INTO {self._group.schema}.applied VALUES (:t, :p, :o, :m)"),
                    [
                        {"t": m.topic, "p": m.partition, "o": m.offset, "m": self.name}
                        for m in messages
                    ],
                )
                await self.hold(offsets)
        finally:
            for tp in mine:
                if self._group.active.get(tp) == self.name:
                    del self._group.active[tp]


async def _nothing(_batch: object) -> None:
    return None


@pytest.fixture
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    async with running(create_producer(infra.kafka_bootstrap)) as started:
        yield started


@pytest.fixture
async def group(engine: AsyncEngine, unique: str) -> AsyncIterator[Group]:
    schema = f"rebalance_{unique}"
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {schema}"))
        await conn.execute(
            text(f"""CREATE TABLE {schema}.offsets (group_id text NOT NULL, topic text NOT NULL,
                     partition integer NOT NULL, next_offset bigint NOT NULL,
                     PRIMARY KEY (group_id, topic, partition))""")
        )
        await conn.execute(
            text(f"""CREATE TABLE {schema}.applied (topic text NOT NULL, partition integer
                     NOT NULL, record bigint NOT NULL, member text NOT NULL)""")
        )
    yield Group(engine, schema)
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


@contextlib.asynccontextmanager
async def consuming(consumer: BatchConsumer) -> AsyncIterator[BatchConsumer]:
    async with running(consumer), consuming_started(consumer):
        yield consumer


@contextlib.asynccontextmanager
async def consuming_started(consumer: BatchConsumer) -> AsyncIterator[BatchConsumer]:
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def member_of(
    infra: Infra,
    producer: AIOKafkaProducer,
    topic: str,
    group_id: str,
    member: Member,
    max_records: int = 20,
) -> BatchConsumer:
    return BatchConsumer(
        bootstrap=infra.kafka_bootstrap,
        topics=[topic],
        group_id=group_id,
        producer=producer,
        dead_letter_topic=topic + ".dlq",
        handler=member,
        offset_store=member.store,
        service="test",
        max_records=max_records,
    )


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 90) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            while not await check():  # noqa: ASYNC110 (the state is Kafka's and Postgres')
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"no {what} within {timeout_s} s") from None


async def send(producer: AIOKafkaProducer, topic: str, numbers: range) -> None:
    """Events of 40 tenants (keys), so each partition of the topic gets some."""
    events = [_event(i, f"t{i % 40}") for i in numbers]
    await publish(producer, [Outgoing(topic, e.key, e.envelope) for e in events])


async def group_state(infra: Infra, group_id: str) -> tuple[str, int]:
    """The group's state on its coordinator and how many members it has."""
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group_id])
    finally:
        await admin.close()
    _error, _group, state, _type, _protocol, members, *_ = response.groups[0]
    return state, len(members)


async def caught_up(infra: Infra, topic: str, store: PgOffsetStore) -> bool:
    ends = await end_offsets(infra.kafka_bootstrap, topic)
    return await store.load(list(ends)) == {tp: n for tp, n in ends.items() if n > 0}


def exactly_once(rows: list[tuple[str, int, int, str]], topic: str, n: int) -> None:
    records = [(t, p, o) for t, p, o, _ in rows]
    assert len(records) == n
    assert len(set(records)) == n
    assert {t for t, *_ in records} == {topic}


async def test_a_rebalance_in_the_middle_of_a_batch_hands_the_partitions_over_after_it(
    infra: Infra, unique: str, group: Group, producer: AIOKafkaProducer
) -> None:
    """Member a blocks in the middle of a batch of every partition; member b joins (a
    rebalance), so whichever partitions b is given were in a's batch. They change hands only
    once a's batch committed (the group waits), b starts from what a stored, and nobody is
    fenced: every record is applied once, never by both members at once."""
    prefix = f"{infra.topic_prefix}{unique}."
    await ensure_topics(infra.kafka_bootstrap, prefix, PARTITIONS, [METRICS_EVENTS])
    topic, group_id = METRICS_EVENTS.qualified(prefix), f"fence-{unique}"
    a, b = Member("a", group, group.store(group_id)), Member("b", group, group.store(group_id))
    await send(producer, topic, range(200))
    async with consuming(member_of(infra, producer, topic, group_id, a)):
        await until(lambda: caught_up(infra, topic, a.store), "a applying the first events")
    # a starts again with every partition's offset stored: it seeks them all at once, so its
    # first fetch, and batch, holds the events waiting on every partition
    await send(producer, topic, range(200, 400))
    blocked, release = asyncio.Event(), asyncio.Event()

    async def hold_the_batch_of_every_partition(offsets: Offsets) -> None:
        if len(offsets.next) == PARTITIONS and not blocked.is_set():
            blocked.set()
            await release.wait()

    a.hold = hold_the_batch_of_every_partition
    cb = member_of(infra, producer, topic, group_id, b)
    with structlog.testing.capture_logs() as logged:
        async with consuming(member_of(infra, producer, topic, group_id, a, 1000)) as ca:
            await until(lambda: _set(blocked), "a batch of every partition")
            logged.clear()  # a rebalance as a starts (the topic's metadata) may come before
            joining = asyncio.create_task(cb.start())  # returns once b holds partitions
            try:
                await until(lambda: _logged(logged, "rebalance: the batch in flight"), "revoke")
                # nobody holds a partition while a's batch is in flight: the group waits for a
                assert (await group_state(infra, group_id))[0] == "PreparingRebalance"
                assert not joining.done()
                release.set()
                await joining
                async with consuming_started(cb):
                    stable = lambda: _is(group_state(infra, group_id), ("Stable", 2))  # noqa: E731
                    await until(stable, "a stable group of two")
                    await send(producer, topic, range(400, 600))
                    await until(lambda: caught_up(infra, topic, a.store), "the group catching up")
            finally:
                joining.cancel()
                await asyncio.gather(joining, return_exceptions=True)
                await cb.stop()
    rows = await group.applied()
    exactly_once(rows, topic, 600)
    assert group.overlaps == []
    assert (ca.fenced, cb.fenced) == (0, 0)
    assert {m for *_, m in rows} == {"a", "b"}  # after the rebalance, both hold partitions


async def test_a_member_that_lost_its_partitions_cannot_commit_a_batch_for_them(
    infra: Infra, unique: str, group: Group, producer: AIOKafkaProducer
) -> None:
    """Two members that each believe they hold the partition (two Kafka groups over the same
    stored offsets: what a member paused past its session timeout believes). Member a pauses
    before its first batch until b committed one: a's batch is refused and rolls back whole,
    and both read on from the stored offsets, racing; every record is applied exactly once."""
    prefix = f"{infra.topic_prefix}{unique}."
    await ensure_topics(infra.kafka_bootstrap, prefix, 1, [METRICS_EVENTS])
    topic = METRICS_EVENTS.qualified(prefix)
    await send(producer, topic, range(200))
    shared = group.store(f"shared-{unique}")
    a, b = Member("a", group, shared), Member("b", group, shared)
    tp = TopicPartition(topic, 0)

    async def pause_until_b_committed(n: int) -> None:
        if n == 1:
            await until(lambda: _has(shared.load([tp])), "batch of b")

    a.before = pause_until_b_committed
    fenced_before = _fenced_count()
    async with (
        consuming(member_of(infra, producer, topic, f"a-{unique}", a)) as ca,
        consuming(member_of(infra, producer, topic, f"b-{unique}", b)),
    ):
        await until(lambda: caught_up(infra, topic, shared), "the members catching up")
    exactly_once(await group.applied(), topic, 200)
    assert ca.fenced >= 1
    assert _fenced_count() >= fenced_before + 1


def _fenced_count() -> float:
    value = REGISTRY.get_sample_value("kpi_consumer_fenced_batches_total", {"service": "test"})
    return value or 0.0


async def _logged(logged: list[MutableMapping[str, Any]], start: str) -> bool:
    return any(str(e["event"]).startswith(start) for e in logged)


async def _set(event: asyncio.Event) -> bool:
    return event.is_set()


async def _is(value: Awaitable[object], expected: object) -> bool:
    return await value == expected


async def _has(value: Awaitable[dict[TopicPartition, int]]) -> bool:
    return bool(await value)


async def test_a_fenced_batch_of_several_partitions_reads_all_of_them_again(
    infra: Infra, unique: str, group: Group, producer: AIOKafkaProducer
) -> None:
    """Member a's batch holds partitions 0 and 1; before it commits, another member applies
    records 5-9 of partition 0. a's advance is refused for partition 0 only, the whole batch
    rolls back, and a reads both partitions again from what is stored: partition 1's records
    of the refused batch are applied too, each record exactly once."""
    prefix = f"{infra.topic_prefix}{unique}."
    await ensure_topics(infra.kafka_bootstrap, prefix, 2, [METRICS_EVENTS])
    topic, group_id = METRICS_EVENTS.qualified(prefix), f"fence-{unique}"
    p0, p1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    await send(producer, topic, range(100))
    store = group.store(group_id)
    # what an earlier member applied: both partitions stored, so a seeks both at once
    await group.apply_as("earlier", store, {p0: range(0, 5), p1: range(0, 3)})
    a = Member("a", group, store)

    async def another_member_applies_first(n: int) -> None:
        if n == 1:
            await group.apply_as("other", store, {p0: range(5, 10)})

    a.before = another_member_applies_first
    async with consuming(member_of(infra, producer, topic, group_id, a, 1000)) as ca:
        await until(lambda: caught_up(infra, topic, store), "a catching up")
    exactly_once(await group.applied(), topic, 100)
    assert ca.fenced == 1
