"""SQL of `metric_arrivals`: the bulk upsert of a batch's tally (one statement per batch),
the tenant's arrivals for data health, and the retention of metrics long silent."""

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kpi_evaluator.arrivals import Arrival, ArrivalKey
from kpi_evaluator.strategy_repo import Executor

_UPSERT = text("""
INSERT INTO evaluator.metric_arrivals AS a
  (tenant_id, metric, events, first_received_at, last_received_at, last_source_id)
SELECT * FROM unnest(CAST(:t AS text[]), CAST(:m AS text[]), CAST(:n AS bigint[]),
                     CAST(:f AS timestamptz[]), CAST(:l AS timestamptz[]), CAST(:s AS text[]))
ON CONFLICT (tenant_id, metric) DO UPDATE SET
  events = a.events + excluded.events,
  first_received_at = LEAST(a.first_received_at, excluded.first_received_at),
  last_source_id = CASE WHEN excluded.last_received_at >= a.last_received_at
                        THEN excluded.last_source_id ELSE a.last_source_id END,
  last_received_at = GREATEST(a.last_received_at, excluded.last_received_at)
""")

_LOAD = text("""
SELECT metric, events, first_received_at, last_received_at, last_source_id
FROM evaluator.metric_arrivals WHERE tenant_id = :t
""")


async def upsert(session: AsyncSession, tallied: Mapping[ArrivalKey, Arrival]) -> None:
    if not tallied:
        return
    items = sorted(tallied.items())  # one lock order: concurrent batches never deadlock
    params = {
        "t": [k[0] for k, _ in items],
        "m": [k[1] for k, _ in items],
        "n": [a.events for _, a in items],
        "f": [a.first_received_at for _, a in items],
        "l": [a.last_received_at for _, a in items],
        "s": [a.last_source_id for _, a in items],
    }
    await session.execute(_UPSERT, params)


async def load(conn: Executor, tenant_id: str) -> dict[str, Arrival]:
    """The tenant's arrivals by metric name."""
    rows = await conn.execute(_LOAD, {"t": tenant_id})
    return {str(r[0]): Arrival(str(r[0]), int(r[1]), r[2], r[3], r[4]) for r in rows}


async def prune(session: AsyncSession, before: datetime) -> None:
    """Forget metrics whose last event was received before `before` (the archive's horizon:
    their events are gone from the archive too)."""
    await session.execute(
        text("DELETE FROM evaluator.metric_arrivals WHERE last_received_at < :b"), {"b": before}
    )
