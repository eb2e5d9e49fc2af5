"""SQL of the archive of consumed events: the bulk insert that is also the dedup (one
statement per batch), partitions created on demand and dropped by retention, and the
server-side cursor a recompute folds from."""

import zlib
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kpi_evaluator.archive import PREFIX, Month
from kpi_evaluator.folding import Observation
from kpi_evaluator.recompute import ArchivedRow
from kpi_evaluator.strategy_repo import Executor

EventKey = tuple[str, str, str, datetime]  # tenant, metric, id, event time: the identity

# Answers the events that were NOT inserted (archived before): almost always none, so the
# batch does not travel back. The batch travels as ONE jsonb array of rows, and is inserted in
# the order of the key (one lock order: overlapping batches never deadlock): asyncpg encoding
# seven arrays of 5,000 values each (tz-aware datetimes above all) and sorting in Python cost
# the evaluator ~5.5 us per event, orjson and PostgreSQL's sort ~1 us (docs/benchmarks.md, (j)).
_INSERT = text("""
WITH batch AS (
  SELECT j->>0 AS t, j->>1 AS m, j->>2 AS i, CAST(j->>3 AS timestamptz) AS et,
         CAST(j->>4 AS float8) AS v, j->5 AS d, CAST(j->>6 AS timestamptz) AS r
  FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS j
), ins AS (
  INSERT INTO evaluator.events
    (tenant_id, metric, event_id, event_time, value, dimensions, received_at)
  SELECT t, m, i, et, v, d, r FROM batch ORDER BY t, m, i, et
  ON CONFLICT DO NOTHING
  RETURNING tenant_id, metric, event_id, event_time
)
SELECT t, m, i, et FROM batch EXCEPT SELECT * FROM ins
""")

_DDL_LOCK = zlib.crc32(b"evaluator:archive-partitions")

_PARTITIONS = text("""
SELECT c.relname FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = CAST('evaluator.events' AS regclass)
""")


def key(o: Observation) -> EventKey:
    return (o.tenant_id, o.metric, o.id, o.time)


async def insert(session: AsyncSession, observations: Sequence[Observation]) -> list[Observation]:
    """Archive the observations (unique keys); returns those never archived before."""
    if not observations:
        return []
    batch = [
        (o.tenant_id, o.metric, o.id, o.time, o.value, o.dimensions, o.received_at)
        for o in observations
    ]
    params = {"rows": orjson.dumps(batch).decode()}
    rows = (await session.execute(_INSERT, params)).all()
    if not rows:
        return list(observations)
    before = {(str(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows}
    return [o for o in observations if key(o) not in before]


async def partitions(conn: Executor) -> set[str]:
    return {str(r[0]) for r in await conn.execute(_PARTITIONS)}


async def create_partitions(session: AsyncSession, months: Iterable[Month]) -> None:
    """Create the months' partitions that do not exist (creators serialised by a lock). A
    table attached afterwards locks the archive SHARE UPDATE EXCLUSIVE, which inserts and a
    running recompute do not conflict with (`CREATE TABLE ... PARTITION OF` would wait for
    every reader and stall all batches behind it)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _DDL_LOCK})
    for month in sorted(set(months)):
        name = f"evaluator.{month.partition}"
        found = await session.execute(text("SELECT to_regclass(:n)"), {"n": name})
        if found.scalar() is not None:
            continue
        await session.execute(text(f"CREATE TABLE {name} (LIKE evaluator.events)"))
        await session.execute(
            text(
                f"ALTER TABLE evaluator.events ATTACH PARTITION {name} FOR VALUES "
                f"FROM ('{month.start.isoformat()}') TO ('{month.end.isoformat()}')"
            )
        )


async def drop_partitions(session: AsyncSession, names: Iterable[str]) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _DDL_LOCK})
    for name in names:
        if not (name.startswith(PREFIX) and name[len(PREFIX) :].isdigit()):
            raise ValueError(f"not an archive partition: {name!r}")
        await session.execute(text(f"DROP TABLE IF EXISTS evaluator.{name}"))


async def count(conn: Executor, tenant_id: str, metrics: Sequence[str]) -> int:
    row = await conn.execute(
        text("""SELECT count(*) FROM evaluator.events
                WHERE tenant_id = :t AND metric = ANY(CAST(:m AS text[]))"""),
        {"t": tenant_id, "m": sorted(set(metrics))},
    )
    return int(row.scalar_one())


async def any_event(conn: Executor, tenant_id: str, metrics: Sequence[str]) -> bool:
    """Whether the archive holds an event of those metrics for the tenant."""
    row = await conn.execute(
        text("""SELECT EXISTS (SELECT 1 FROM evaluator.events
                WHERE tenant_id = :t AND metric = ANY(CAST(:m AS text[])))"""),
        {"t": tenant_id, "m": sorted(set(metrics))},
    )
    return bool(row.scalar_one())


_STREAM = """
SELECT event_id, metric, value, CAST(dimensions AS text), event_time, received_at
FROM evaluator.events WHERE tenant_id = $1 AND metric = ANY($2::text[])
"""


async def stream(
    session: AsyncSession, tenant_id: str, metrics: Sequence[str], chunk: int
) -> AsyncIterator[Sequence[ArchivedRow]]:
    """The tenant's archived events of those metrics, `chunk` rows at a time, through a
    server-side cursor of the session's transaction (asyncpg directly: no row objects)."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    # a cursor is planned for its first rows (an index scan); this one reads them all
    await session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
    cursor = await driver.cursor(_STREAM, tenant_id, sorted(set(metrics)))
    while rows := await cursor.fetch(chunk):
        yield rows
