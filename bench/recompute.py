"""(h) Recompute: how fast the evaluator folds its archive again, and what the archive costs.

1,000,000 events of one metric are written straight into the evaluator's archive (for a
tenant of the bench's own, in months of 2090 that nothing else uses), then streamed through
the recompute's server-side cursor and folded for one `sum` KPI with a `where`, exactly as a
recompute job does; the months' partitions are dropped at the end. Archive bytes per event:
the partitions' total size (heap, TOAST, primary key) over the events they hold."""

import os
import time
import uuid

from kpi_common.db import unit_of_work
from kpi_common.definitions import (
    Aggregation,
    Direction,
    KpiDef,
    KpiTargets,
    MeasureDef,
    MetricMeasureDef,
    PeriodKind,
)
from kpi_evaluator import archive_repo
from kpi_evaluator.archive import Month
from kpi_evaluator.definitions import Strategy
from kpi_evaluator.recompute import ArchiveFolder
from kpi_evaluator.recompute_jobs import CHUNK
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bench.table import Row

N = 1_000_000
MONTHS = [Month(2090, m) for m in range(1, 13)]
GOAL = 200_000

_FILL = text("""
INSERT INTO evaluator.events
SELECT :t, 'bench.recompute', 'r' || i, timestamptz '2090-01-01' + i * interval '31 second',
       i % 100, jsonb_build_object('region', CASE WHEN i % 2 = 0 THEN 'emea' ELSE 'amer' END),
       now()
FROM generate_series(1, :n) AS i
""")
_SIZE = text(
    "SELECT sum(pg_total_relation_size(CAST(:s || p AS regclass))) "
    "FROM unnest(CAST(:p AS text[])) AS p"
)


def _strategy(tenant: str) -> Strategy:
    part = MetricMeasureDef(
        metric="bench.recompute", aggregation=Aggregation.SUM, where={"region": "emea"}
    )
    kpi = KpiDef(
        id="bench-recompute",
        title="r",
        measure=MeasureDef(kind="metric", metric=part),
        period=PeriodKind.MONTH,
        direction=Direction.INCREASE,
        targets=KpiTargets(),
        at_risk_below=0.9,
        weight=1.0,
    )
    return Strategy.build(tenant, {("kpi", "bench-recompute"): kpi})


async def measure(database_url: str | None = None) -> list[Row]:
    engine = create_async_engine(database_url or os.environ["KPI_DATABASE_URL"])
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    tenant = f"bench-recompute-{uuid.uuid4().hex[:8]}"
    try:
        async with unit_of_work(sessions) as session:
            await archive_repo.create_partitions(session, MONTHS)
            await session.execute(_FILL, {"t": tenant, "n": N})
            await session.execute(text("ANALYZE evaluator.events"))
        async with unit_of_work(sessions) as session:
            size = await session.execute(
                _SIZE, {"s": "evaluator.", "p": [m.partition for m in MONTHS]}
            )
            per_event = float(size.scalar_one()) / N
            folder = ArchiveFolder(_strategy(tenant))
            start = time.perf_counter()
            async for rows in archive_repo.stream(session, tenant, ["bench.recompute"], CHUNK):
                folder.fold(rows)
            elapsed = time.perf_counter() - start
    finally:
        async with unit_of_work(sessions) as session:
            await archive_repo.drop_partitions(session, [m.partition for m in MONTHS])
        await engine.dispose()
    rate = N / elapsed
    return [
        Row(
            "(h) recompute: fold 1,000,000 archived events, one KPI",
            rate,
            "events/s",
            f">= {GOAL:,}",
            rate >= GOAL,
        ),
        Row("(h) archive and dedup bytes per event", per_event, "bytes"),
    ]
