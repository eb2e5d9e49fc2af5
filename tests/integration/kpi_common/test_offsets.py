"""The database fence on stored consumer offsets, against the real Postgres: a batch's offsets
advance only from where the batch started, so a member that lost its partitions (a paused
process past its session timeout) cannot commit a batch for them, and the refused
transaction rolls back whole. Both table shapes the services use: with a group column (the
evaluator's) and without (the notifier's)."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiokafka import TopicPartition
from kpi_common.db import session_factory, unit_of_work
from kpi_common.offsets import NOT_STORED, Offsets, OffsetsFenced, OffsetTable, PgOffsetStore
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

pytestmark = pytest.mark.integration

TP = TopicPartition("kpi.breaches", 0)
OTHER = TopicPartition("kpi.breaches", 1)


@pytest.fixture(params=["grouped", "ungrouped"])
async def store(
    request: pytest.FixtureRequest, engine: AsyncEngine, unique: str
) -> AsyncIterator[PgOffsetStore]:
    """An offsets table shaped like a service's, and a table of effects beside it."""
    schema = f"fence_{unique}"
    group = request.param == "grouped"
    key = "group_id text NOT NULL, " if group else ""
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {schema}"))
        await conn.execute(
            text(f"""CREATE TABLE {schema}.consumer_offsets ({key}topic text NOT NULL,
                     partition integer NOT NULL, next_offset bigint NOT NULL,
                     PRIMARY KEY ({"group_id, " if group else ""}topic, partition))""")
        )
        await conn.execute(text(f"CREATE TABLE {schema}.applied (note text NOT NULL)"))
    yield PgOffsetStore(engine, OffsetTable(f"{schema}.consumer_offsets", "g" if group else None))
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


async def apply(
    to: AsyncEngine | async_sessionmaker[AsyncSession],
    store: PgOffsetStore,
    offsets: Offsets,
    note: str,
) -> None:
    """A batch's transaction: the fenced advance first, then its effect."""
    sessions = session_factory(to) if isinstance(to, AsyncEngine) else to
    async with unit_of_work(sessions) as session:
        await store.advance(session, offsets)
        await session.execute(
            text(f"INSERT INTO {_schema(store)}.applied VALUES (:n)"), {"n": note}
        )


def _schema(store: PgOffsetStore) -> str:
    return store.table.name.split(".")[0]


async def applied(engine: AsyncEngine, store: PgOffsetStore) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(f"SELECT note FROM {_schema(store)}.applied ORDER BY note"))
        return [r[0] for r in rows]


async def waiting_on_a_lock(engine: AsyncEngine, store: PgOffsetStore) -> None:
    """Until a statement on the store's table waits for a lock (bounded)."""
    async with asyncio.timeout(30), engine.connect() as conn:
        while True:
            rows = await conn.execute(
                text("""SELECT count(*) FROM pg_stat_activity
                        WHERE wait_event_type = 'Lock' AND query LIKE :q"""),
                {"q": f"%{store.table.name}%"},
            )
            if rows.scalar_one():
                return
            await asyncio.sleep(0.05)


async def test_a_stale_owners_commit_is_refused_and_rolls_back_whole(
    engine: AsyncEngine, store: PgOffsetStore
) -> None:
    await apply(engine, store, Offsets({TP: NOT_STORED}, {TP: 10}), "a: 0-9")
    # the partition moves to b, which reads the stored offset and applies 10-19
    start = (await store.load([TP]))[TP]
    await apply(engine, store, Offsets({TP: start}, {TP: 20}), "b: 10-19")
    # a wakes up (a long pause past its session timeout) and commits what it read meanwhile
    with pytest.raises(OffsetsFenced) as fenced:
        await apply(engine, store, Offsets({TP: 10}, {TP: 15}), "a: 10-14")
    assert fenced.value.refused == [TP]
    # and a member that read the partition from the start, as if nothing were stored
    with pytest.raises(OffsetsFenced):
        await apply(engine, store, Offsets({TP: NOT_STORED}, {TP: 5}), "c: 0-4")
    assert await applied(engine, store) == ["a: 0-9", "b: 10-19"]
    assert await store.load([TP, OTHER]) == {TP: 20}


async def test_one_refused_partition_refuses_the_whole_batch(
    engine: AsyncEngine, store: PgOffsetStore
) -> None:
    await apply(engine, store, Offsets({TP: NOT_STORED}, {TP: 10}), "first")
    with pytest.raises(OffsetsFenced) as fenced:  # OTHER is fine, TP moved on
        await apply(engine, store, Offsets({TP: 4, OTHER: NOT_STORED}, {TP: 12, OTHER: 3}), "x")
    assert fenced.value.refused == [TP]
    assert await applied(engine, store) == ["first"]
    assert await store.load([TP, OTHER]) == {TP: 10}


@pytest.mark.parametrize("start", [NOT_STORED, 10])
async def test_of_two_members_applying_the_same_records_at_once_one_commits(
    engine: AsyncEngine, store: PgOffsetStore, start: int
) -> None:
    if start != NOT_STORED:
        await apply(engine, store, Offsets({TP: NOT_STORED}, {TP: start}), "before")
    async with engine.connect() as conn:
        # the second member's connection, its statement prepared before the race (asyncpg's
        # type lookup for a first prepare would wait for the first member's transaction too)
        seconds = async_sessionmaker(bind=conn)
        async with unit_of_work(seconds) as session:
            await store.advance(session, Offsets({OTHER: NOT_STORED}, {OTHER: 1}))
        async with unit_of_work(session_factory(engine)) as first:
            await store.advance(first, Offsets({TP: start}, {TP: start + 5}))
            # the second waits on the first's row (or key) lock until the first commits
            second = asyncio.create_task(
                apply(seconds, store, Offsets({TP: start}, {TP: start + 8}), "second")
            )
            await waiting_on_a_lock(engine, store)
            await first.execute(text(f"INSERT INTO {_schema(store)}.applied VALUES ('first')"))
        with pytest.raises(OffsetsFenced):
            await second
    assert "second" not in await applied(engine, store)
    assert (await store.load([TP]))[TP] == start + 5


async def test_an_offset_reset_to_zero_reads_as_nothing_stored(
    engine: AsyncEngine, store: PgOffsetStore
) -> None:
    await apply(engine, store, Offsets({TP: NOT_STORED}, {TP: 10}), "first")
    async with engine.begin() as conn:  # an operator replays the partition from the start
        await conn.execute(text(f"UPDATE {store.table.name} SET next_offset = 0"))
    assert await store.load([TP]) == {TP: 0}
    await apply(engine, store, Offsets({TP: NOT_STORED}, {TP: 4}), "replayed")
    assert await store.load([TP]) == {TP: 4}
