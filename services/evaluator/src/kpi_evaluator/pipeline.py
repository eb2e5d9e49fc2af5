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
from kpi_evaluator.evaluation import Evaluator, Ref, lock_tenants
from kpi_evaluator.folding import PeriodRef, dedup, fold
from kpi_evaluator.metrics import (
    BATCH_SECONDS,
    DUPLICATES,
    EVENTS,
    LATENCY,
    TENANT_TICK_SECONDS,
    TICK_CPU,
    TICK_KPIS,
    TICK_SECONDS,
    UNPLACEABLE,
)
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
            by_tenant = refs_by_tenant(folded.touched, strategies)
            await self._evaluator.run_many(
                session, [(strategies[t], refs) for t, refs in by_tenant.items()], now
            )
        self._on_commit()
        EVENTS.inc(len(fresh))
        DUPLICATES.inc(len(observations) - len(fresh))
        UNPLACEABLE.inc(folded.unplaceable)
        BATCH_SECONDS.observe(time.perf_counter() - started)
        for obs in fresh[-1:]:
            LATENCY.set(max(0.0, (now - obs.received_at).total_seconds()))


def periods_to_tick(strategy: Strategy, now: datetime) -> list[Ref]:
    """Every KPI's current period and the one before (so period closes are noticed)."""
    calendar = strategy.calendar
    spans: dict[str, tuple[Bucket, Bucket]] = {}  # KPIs share their few period kinds
    out: list[Ref] = []
    for kpi in strategy.kpis.values():
        kind = kpi.period_kind
        if kind not in spans:
            current = calendar.bucket(kind, now)
            spans[kind] = (current, calendar.previous(kind, current))
        current, previous = spans[kind]
        out.append((kpi, current))
        if not kpi.rolling_days:
            out.append((kpi, previous))
    return out


TICK_TENANTS = 25  # tenants per tick transaction (50 KPIs each: ~2,500 periods)


async def _drop_orphans(session: AsyncSession, strategies: list[Strategy]) -> None:
    """Delete the status rows the strategies no longer have (kpi_evaluator.actuals.orphans)."""
    await lock_tenants(session, [s.tenant_id for s in strategies])  # before deleting: see there
    stored = await status_repo.bounds_many(session, [s.tenant_id for s in strategies])
    for strategy in strategies:
        stale = orphans(strategy, stored.get(strategy.tenant_id, []))
        await status_repo.delete(session, strategy.tenant_id, stale)


async def _unsettled(
    session: AsyncSession, jobs: list[tuple[Strategy, list[Ref]]], now: datetime
) -> list[tuple[Strategy, list[Ref]]]:
    """The periods a tick must evaluate: not those time alone no longer changes
    (`status_repo.settled`). A tick after a strategy change (a new target of a closed
    period) evaluates every period."""
    closed = {b.key for _, refs in jobs for _, b in refs if b.end <= now}
    tenants = [s.tenant_id for s, _ in jobs]
    done = await status_repo.settled(session, tenants, closed, now) if closed else set()
    return [
        (s, [(k, b) for k, b in refs if (s.tenant_id, k.id, b.key) not in done]) for s, refs in jobs
    ]


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
        after_tick: Callable[[], object] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._strategies = strategies
        self._evaluator = evaluator
        self._clock = clock
        self._interval_s = interval_s
        self._on_commit = on_commit
        self._after_tick = after_tick  # kpi_evaluator.heap: counted in the tick's CPU
        self._wake = asyncio.Event()
        self._woken: set[str] = set()  # tenants to tick before the next periodic tick
        self._everyone = False

    async def tick_once(self, tenants: Iterable[str] | None = None, cleanup: bool = True) -> int:
        """Re-evaluate; with `cleanup`, first drop status rows the strategy no longer has.
        Tenants go `TICK_TENANTS` to a transaction (their reads and writes one statement
        each), each group's strategies read inside its own transaction: a tick over many
        tenants must not judge the last ones (and delete their rows) by a strategy read
        minutes ago. Returns how many KPIs it re-evaluated."""
        now = self._clock()
        names = await self._strategies.tenants() if tenants is None else list(tenants)
        kpis = 0
        for i in range(0, len(names), TICK_TENANTS):
            async with unit_of_work(self._sessions) as session:
                group = await self._strategies.get_many(names[i : i + TICK_TENANTS], session)
                jobs = [(s, periods_to_tick(s, now)) for s in group.values()]
                if cleanup:
                    await _drop_orphans(session, list(group.values()))
                else:
                    jobs = await _unsettled(session, jobs, now)
                await self._evaluator.run_many(session, jobs, now)
            kpis += sum(len(s.kpis) for s in group.values())
        self._on_commit()
        return kpis

    def notify(self, tenants: Iterable[str] | None = None) -> None:
        """Tick those tenants now (their strategy changed, or a recompute of theirs finished),
        with the cleanup; without tenants, every tenant: the next periodic tick, now."""
        if tenants is None:
            self._everyone = True
        else:
            self._woken.update(tenants)
        self._wake.set()

    async def run(self) -> None:
        cleanup = True  # at start, and when woken for every tenant
        while True:
            self._wake.clear()
            self._everyone = False
            started, cpu = time.perf_counter(), time.process_time()
            TICK_KPIS.set(await self.tick_once(cleanup=cleanup))
            self._after_tick()
            TICK_CPU.inc(time.process_time() - cpu)
            TICK_SECONDS.observe(time.perf_counter() - started)
            cleanup = await self._until_next_tick()

    async def _until_next_tick(self) -> bool:
        """Wait out the interval, ticking the tenants woken for meanwhile (a strategy change or
        a recompute concerns one tenant: ticking every tenant for it made a burst of new
        tenants tick everything once per change). True when woken for every tenant."""
        deadline = time.monotonic() + self._interval_s
        while (left := deadline - time.monotonic()) > 0:
            if not self._woken:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), left)
            if self._everyone:
                return True
            if not self._woken:
                return False
            self._wake.clear()
            tenants, self._woken = sorted(self._woken), set()
            started, cpu = time.perf_counter(), time.process_time()
            await self.tick_once(tenants, cleanup=True)
            TICK_CPU.inc(time.process_time() - cpu)
            TENANT_TICK_SECONDS.observe(time.perf_counter() - started)
        return self._everyone
