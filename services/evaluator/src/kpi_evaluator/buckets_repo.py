"""SQL of seen events (dedup, counted once ever) and aggregation buckets, in bulk: one
statement per batch each, never one round trip per event."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kpi_evaluator.aggregation import AggState
from kpi_evaluator.folding import BucketKey, Observation
from kpi_evaluator.strategy_repo import Executor

# Answers the pairs that were NOT inserted (seen before): almost always none, so the batch's
# ids do not travel back (turning thousands of returned rows into Python cost ~9% of the CPU).
_INSERT_SEEN = text("""
WITH batch AS (SELECT * FROM unnest(CAST(:t AS text[]), CAST(:i AS text[])) AS b(t, i)),
ins AS (
  INSERT INTO evaluator.seen_events (tenant_id, event_id) SELECT t, i FROM batch
  ON CONFLICT (tenant_id, event_id) DO NOTHING
  RETURNING tenant_id, event_id
)
SELECT t, i FROM batch EXCEPT SELECT tenant_id, event_id FROM ins
""")

_UPSERT_BUCKETS = text("""
INSERT INTO evaluator.buckets AS b
  (tenant_id, kpi_id, component, period_key, count, total, min, max,
   last_value, last_time, last_id)
SELECT * FROM unnest(CAST(:t AS text[]), CAST(:k AS text[]), CAST(:c AS text[]),
                     CAST(:p AS text[]), CAST(:n AS bigint[]), CAST(:s AS float8[]),
                     CAST(:lo AS float8[]), CAST(:hi AS float8[]), CAST(:lv AS float8[]),
                     CAST(:lt AS timestamptz[]), CAST(:li AS text[]))
ON CONFLICT (tenant_id, kpi_id, component, period_key) DO UPDATE SET
  count = b.count + excluded.count,
  total = b.total + excluded.total,
  min = LEAST(b.min, excluded.min),
  max = GREATEST(b.max, excluded.max),
  last_value = CASE WHEN (excluded.last_time, excluded.last_id) > (b.last_time, b.last_id)
                    THEN excluded.last_value ELSE b.last_value END,
  last_id = CASE WHEN (excluded.last_time, excluded.last_id) > (b.last_time, b.last_id)
                 THEN excluded.last_id ELSE b.last_id END,
  last_time = GREATEST(b.last_time, excluded.last_time)
""")

_UPSERT_SEEN_KPIS = text("""
INSERT INTO evaluator.kpi_seen AS s (tenant_id, kpi_id, last_received_at)
SELECT * FROM unnest(CAST(:t AS text[]), CAST(:k AS text[]), CAST(:r AS timestamptz[]))
ON CONFLICT (tenant_id, kpi_id) DO UPDATE
SET last_received_at = GREATEST(s.last_received_at, excluded.last_received_at)
""")


async def insert_seen(
    session: AsyncSession, observations: Sequence[Observation]
) -> set[tuple[str, str]]:
    """Record the observations (unique pairs); returns the pairs never seen before."""
    if not observations:
        return set()
    pairs = {(o.tenant_id, o.id) for o in observations}
    ordered = sorted(pairs)  # one lock order, so overlapping replicas cannot deadlock
    params = {"t": [t for t, _ in ordered], "i": [i for _, i in ordered]}
    seen_before = (await session.execute(_INSERT_SEEN, params)).all()
    return pairs.difference((str(r[0]), str(r[1])) for r in seen_before)


async def upsert_buckets(session: AsyncSession, deltas: Mapping[BucketKey, AggState]) -> None:
    if not deltas:
        return
    items = sorted(deltas.items())  # a stable order keeps concurrent batches from deadlocking
    keys = [k for k, _ in items]
    states = [s for _, s in items]
    params = {
        "t": [k[0] for k in keys],
        "k": [k[1] for k in keys],
        "c": [k[2] for k in keys],
        "p": [k[3] for k in keys],
        "n": [s.count for s in states],
        "s": [s.total for s in states],
        "lo": [s.min for s in states],
        "hi": [s.max for s in states],
        "lv": [s.last_value for s in states],
        "lt": [s.last_time for s in states],
        "li": [s.last_id for s in states],
    }
    await session.execute(_UPSERT_BUCKETS, params)


async def upsert_kpi_seen(session: AsyncSession, seen: Mapping[tuple[str, str], datetime]) -> None:
    if not seen:
        return
    items = sorted(seen.items())
    params = {
        "t": [k[0] for k, _ in items],
        "k": [k[1] for k, _ in items],
        "r": [v for _, v in items],
    }
    await session.execute(_UPSERT_SEEN_KPIS, params)


async def load_states(
    conn: Executor, tenant_id: str, kpis: Iterable[str], period_keys: Iterable[str]
) -> dict[BucketKey, AggState]:
    """Every component state of those KPIs in those periods."""
    rows = await conn.execute(
        text("""SELECT tenant_id, kpi_id, component, period_key, count, total, min, max,
                       last_value, last_time, last_id
                FROM evaluator.buckets
                WHERE tenant_id = :t AND kpi_id = ANY(CAST(:k AS text[]))
                  AND period_key = ANY(CAST(:p AS text[]))"""),
        {"t": tenant_id, "k": sorted(set(kpis)), "p": sorted(set(period_keys))},
    )
    return {
        (r[0], r[1], r[2], r[3]): AggState(int(r[4]), r[5], r[6], r[7], r[8], r[9], r[10])
        for r in rows
    }


async def last_seen(conn: Executor, tenant_id: str) -> dict[str, datetime]:
    rows = await conn.execute(
        text("SELECT kpi_id, last_received_at FROM evaluator.kpi_seen WHERE tenant_id = :t"),
        {"t": tenant_id},
    )
    return {str(r[0]): r[1] for r in rows}
