"""The `metrics.events` consumer's handler and the periodic tick.

A batch is applied in ONE Postgres transaction together with its consumer offsets: advance the
stored offsets, fenced (kpi_common.offsets: when another replica applied these records first,
the advance is refused and the whole transaction rolls back) -> take the tenants' recompute
locks (shared) -> read their current strategy -> archive the events (the insert is the dedup:
only events never archived go on) -> fold into per-bucket deltas -> bulk upsert (the buckets,
and what arrived per metric name, for data health) -> re-evaluate the touched periods (status
rows, outbox events). A crash at any moment either loses the whole transaction (and the batch
is read again from the stored offsets) or keeps it whole. Events before the archive's horizon
count nowhere.
"""

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

from kpi_common.calendar import Bucket
from kpi_common.db import unit_of_work
from kpi_common.kafka import Message
from kpi_common.offsets import Offsets
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_evaluator import (
    archive_repo,
    arrivals_repo,
    buckets_repo,
    recompute_repo,
    status_repo,
    strategy_repo,
)
from kpi_evaluator.actuals import orphans
from kpi_evaluator.archive_keeper import ArchiveKeeper
from kpi_evaluator.arrivals import tally
from kpi_evaluator.definitions import Strategy
from kpi_evaluator.evaluation import Evaluator, Ref
from kpi_evaluator.folding import PeriodRef, dedup, fold
from kpi_evaluator.metrics import BATCH_SECONDS, DUPLICATES, EVENTS, LATENCY, UNPLACEABLE
from kpi_evaluator.strategy import StrategyCache

Clock = Callable[[], datetime]


def refs_by_tenant(
    touched: dict[PeriodRef, Bucket], strategies: dict[str, Strategy]
) -> dict[str, list[Ref]]:
    out: dict[str, list[Ref]] = defaultdict(list)
    for (tenant, kpi_id, _), bucket in touched.items():
        kpi = strategies[tenant].kpis.get(kpi_id)
        if kpi is not None:
            out[tenant].append((kpi, bucket))
    return out


class MetricsHandler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        strategies: StrategyCache,
        evaluator: Evaluator,
        archive: ArchiveKeeper,
        group_id: str,
        clock: Clock,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._strategies = strategies
        self._evaluator = evaluator
        self._archive = archive
        self._group_id = group_id
        self._clock = clock
        self._on_commit = on_commit

    async def __call__(self, messages: list[Message], offsets: Offsets) -> None:
        started = time.perf_counter()
        now = self._clock()
        decoded = dedup([m.observed for m in messages if m.observed])
        observations = self._archive.admit(decoded, now)
        await self._archive.ensure(observations)
        tenants = sorted({o.tenant_id for o in observations})
        async with unit_of_work(self._sessions) as session:
            await strategy_repo.save_offsets(session, self._group_id, offsets)
            # after the lock: a recompute of these tenants is either done or waits for us
            await recompute_repo.share_tenants(session, tenants)
            strategies = await self._strategies.get_many(tenants, session)
            fresh = await archive_repo.insert(session, observations)
            folded = fold(fresh, strategies)
            await buckets_repo.upsert_buckets(session, folded.deltas)
            await buckets_repo.upsert_kpi_seen(session, folded.seen)
            await arrivals_repo.upsert(session, tally(fresh))  # data health
            for tenant, refs in refs_by_tenant(folded.touched, strategies).items():
                await self._evaluator.run(session, strategies[tenant], refs, now)
        self._on_commit()
        EVENTS.inc(len(fresh))
        DUPLICATES.inc(len(observations) - len(fresh))
        UNPLACEABLE.inc(folded.unplaceable)
        BATCH_SECONDS.observe(time.perf_counter() - started)
        for obs in fresh[-1:]:
            LATENCY.set(max(0.0, (now - obs.received_at).total_seconds()))


def periods_to_tick(strategy: Strategy, now: datetime) -> list[Ref]:
    """Every KPI's current period and the one before (so period closes are noticed)."""
    out: list[Ref] = []
    for kpi in strategy.kpis.values():
        current = strategy.calendar.bucket(kpi.period_kind, now)
        out.append((kpi, current))
        if not kpi.rolling_days:
            out.append((kpi, strategy.calendar.previous(kpi.period_kind, current)))
    return out


class Ticker:
    """Re-evaluates pace, staleness and period closes as time passes without events."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        strategies: StrategyCache,
        evaluator: Evaluator,
        clock: Clock,
        interval_s: float,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._strategies = strategies
        self._evaluator = evaluator
        self._clock = clock
        self._interval_s = interval_s
        self._on_commit = on_commit
        self._wake = asyncio.Event()

    async def tick_once(self, tenants: Iterable[str] | None = None, cleanup: bool = True) -> None:
        """Re-evaluate; with `cleanup`, first drop status rows the strategy no longer has.
        Each tenant's strategy is read inside its own transaction: a tick over many tenants
        must not judge the last ones (and delete their rows) by a strategy read minutes ago."""
        now = self._clock()
        for tenant in await self._strategies.tenants() if tenants is None else tenants:
            async with unit_of_work(self._sessions) as session:
                strategy = (await self._strategies.get_many([tenant], session)).get(tenant)
                if strategy is None:
                    continue
                if cleanup:
                    stale = orphans(strategy, await status_repo.bounds(session, tenant))
                    await status_repo.delete(session, tenant, stale)
                await self._evaluator.run(session, strategy, periods_to_tick(strategy, now), now)
        self._on_commit()

    def notify(self) -> None:
        """Tick now (the strategy changed: new targets, new KPIs)."""
        self._wake.set()

    async def run(self) -> None:
        cleanup = True  # at start and after each strategy change
        while True:
            self._wake.clear()
            await self.tick_once(cleanup=cleanup)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval_s)
            cleanup = self._wake.is_set()
