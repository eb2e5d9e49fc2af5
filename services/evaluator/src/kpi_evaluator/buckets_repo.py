"""SQL of aggregation buckets, in bulk: one statement per batch, never one round trip per
event (dedup is the archive's insert, `archive_repo`)."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, text
from sqlalchemy.ext.asyncio import AsyncSession

from kpi_evaluator.aggregation import AggState
from kpi_evaluator.folding import BucketKey
from kpi_evaluator.strategy_repo import Executor

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


async def load_states_many(
    conn: Executor, tenants: Iterable[str], kpis: Iterable[str], period_keys: Iterable[str]
) -> dict[BucketKey, AggState]:
    """Every component state of those KPIs in those periods, of those tenants, in one query
    (a KPI id of one tenant may bring the same id's rows of another: callers look up by key)."""
    rows = await conn.execute(
        text("""SELECT tenant_id, kpi_id, component, period_key, count, total, min, max,
                       last_value, last_time, last_id
                FROM evaluator.buckets
                WHERE tenant_id = ANY(CAST(:t AS text[])) AND kpi_id = ANY(CAST(:k AS text[]))
                  AND period_key = ANY(CAST(:p AS text[]))"""),
        {"t": sorted(set(tenants)), "k": sorted(set(kpis)), "p": sorted(set(period_keys))},
    )
    return {
        (r[0], r[1], r[2], r[3]): AggState(int(r[4]), r[5], r[6], r[7], r[8], r[9], r[10])
        for r in rows
    }


async def last_seen_many(conn: Executor, tenants: Iterable[str]) -> dict[tuple[str, str], datetime]:
    """When each KPI of those tenants last had an event, by (tenant, KPI)."""
    rows = await conn.execute(
        text("""SELECT tenant_id, kpi_id, last_received_at FROM evaluator.kpi_seen
                WHERE tenant_id = ANY(CAST(:t AS text[]))"""),
        {"t": sorted(set(tenants))},
    )
    return {(str(r[0]), str(r[1])): r[2] for r in rows}


async def delete_kpis(session: AsyncSession, tenant_id: str, kpis: Sequence[str]) -> bool:
    """Forget what was folded for those KPIs (a recompute folds them again); whether there
    was anything."""
    if not kpis:
        return False
    params = {"t": tenant_id, "k": sorted(set(kpis))}
    found = False
    for table in ("buckets", "kpi_seen"):
        deleted = await session.execute(
            text(f"""DELETE FROM evaluator.{table}
                     WHERE tenant_id = :t AND kpi_id = ANY(CAST(:k AS text[]))"""),
            params,
        )
        found = found or cast(CursorResult[Any], deleted).rowcount > 0
    return found


async def period_keys(conn: Executor, tenant_id: str, kpis: Sequence[str]) -> list[str]:
    """The period keys stored for those KPIs (not their per-day trend buckets)."""
    rows = await conn.execute(
        text("""SELECT DISTINCT period_key FROM evaluator.buckets
                WHERE tenant_id = :t AND kpi_id = ANY(CAST(:k AS text[]))
                  AND component <> 'day'"""),
        {"t": tenant_id, "k": sorted(set(kpis))},
    )
    return [str(r[0]) for r in rows]
