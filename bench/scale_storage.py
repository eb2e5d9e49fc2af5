"""Scale (iii): database bytes per event after 1,000,000 events, table by table.

In the scale stack's scratch database (migrated by its services), the tables that grow with
events are filled as the services fill them, in bulk, in months of 2090 that nothing else
uses: the evaluator's archive (`evaluator.events`, which is also its dedup) with rows of the
shape it writes; metrics-ingest's claims (`ingest.seen_events`, its dedup) with one row per
event; and the evaluator's buckets, folded from those archived rows by the recompute's own
folder (`ArchiveFolder`) for two KPIs of the metric (a monthly sum and a yearly count, each
with its per-day trend buckets) and written by its own upsert. Each table's
`pg_total_relation_size` (heap, TOAST, indexes; an archive's partitions summed) grows by the
figure's bytes; over the events, bytes per event. Buckets grow with KPIs x periods, not with
events: their bytes per event fall as events grow."""

from dataclasses import dataclass

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
from kpi_evaluator import archive_repo, buckets_repo
from kpi_evaluator.archive import Month
from kpi_evaluator.definitions import Strategy
from kpi_evaluator.recompute import ArchiveFolder
from kpi_evaluator.recompute_jobs import CHUNK
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bench.scalestack import ScaleStack

N = 1_000_000
TENANT = "scale-storage"
METRIC = "scale.storage"
MONTHS = [Month(2090, m) for m in range(1, 13)]
# event ids as clients send them (UUIDs), dimensions of a typical feed
_ARCHIVE = text("""
INSERT INTO evaluator.events
SELECT :t, :m, md5(i::text), timestamptz '2090-01-01' + i * interval '31 second', i % 100,
       jsonb_build_object('region', CASE WHEN i % 2 = 0 THEN 'emea' ELSE 'amer' END,
                          'channel', 'web'),
       timestamptz '2090-01-01' + i * interval '31 second'
FROM generate_series(1, :n) AS i
""")
_CLAIMS = text("""
INSERT INTO ingest.seen_events (tenant_id, event_id, seen_at)
SELECT :t, md5(i::text), timestamptz '2090-01-01' + i * interval '31 second'
FROM generate_series(1, :n) AS i
""")
# a partitioned table's size is its partitions'; a plain one's, its own
_SIZE = text("""
SELECT coalesce(
  (SELECT sum(pg_total_relation_size(relid))
   FROM pg_partition_tree(CAST(:table AS regclass)) WHERE isleaf),
  pg_total_relation_size(CAST(:table AS regclass)))
""")
TABLES = {
    "archive (evaluator.events)": "evaluator.events",
    "ingest dedup (ingest.seen_events)": "ingest.seen_events",
    "buckets (evaluator.buckets)": "evaluator.buckets",
}


@dataclass(frozen=True)
class Storage:
    events: int
    bytes_per_event: dict[str, float]  # by the labels of TABLES

    @property
    def total(self) -> float:
        return sum(self.bytes_per_event.values())


async def measure(stack: ScaleStack, n: int = N) -> Storage:
    engine = create_async_engine(stack.database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        before = await _sizes(sessions)
        async with unit_of_work(sessions) as session:
            await archive_repo.create_partitions(session, MONTHS)
            await session.execute(_ARCHIVE, {"t": TENANT, "m": METRIC, "n": n})
            await session.execute(_CLAIMS, {"t": TENANT, "n": n})
        async with unit_of_work(sessions) as session:
            await _fold_buckets(session)
        async with unit_of_work(sessions) as session:
            await session.execute(text("ANALYZE evaluator.events, ingest.seen_events"))
        after = await _sizes(sessions)
    finally:
        await engine.dispose()
    return Storage(n, {label: (after[label] - before[label]) / n for label in TABLES})


async def _sizes(sessions: async_sessionmaker[AsyncSession]) -> dict[str, float]:
    async with sessions() as session:
        return {
            label: float((await session.execute(_SIZE, {"table": table})).scalar_one())
            for label, table in TABLES.items()
        }


async def _fold_buckets(session: AsyncSession) -> None:
    folder = ArchiveFolder(_strategy())
    async for rows in archive_repo.stream(session, TENANT, [METRIC], CHUNK):
        folder.fold(rows)
    await buckets_repo.upsert_buckets(session, folder.folded.deltas)


def _kpi(kpi_id: str, aggregation: Aggregation, period: PeriodKind) -> KpiDef:
    part = MetricMeasureDef(metric=METRIC, aggregation=aggregation)
    return KpiDef(
        id=kpi_id,
        title=kpi_id,
        measure=MeasureDef(kind="metric", metric=part),
        period=period,
        direction=Direction.INCREASE,
        targets=KpiTargets(),
        at_risk_below=0.9,
        weight=1.0,
    )


def _strategy() -> Strategy:
    kpis = [
        _kpi("storage-sum", Aggregation.SUM, PeriodKind.MONTH),
        _kpi("storage-count", Aggregation.COUNT, PeriodKind.YEAR),
    ]
    return Strategy.build(TENANT, {("kpi", k.id): k for k in kpis})
