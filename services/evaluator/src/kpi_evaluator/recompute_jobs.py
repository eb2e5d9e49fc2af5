"""The recompute job runner: rebuilds the actuals of a job's KPIs from the archive.

One job is one transaction, under the tenant's exclusive recompute lock: delete the KPIs'
buckets, fold every archived event of their metrics with the current strategy (streamed
through a server-side cursor, folded in memory in bulk), upsert the buckets, re-evaluate the
periods, and mark the job done. A crash rolls all of it back and leaves the job unfinished:
it is done again, whole, and a rebuild done twice is the same rebuild (exactly once).
Jobs wait while the archive is being filled after an upgrade (`archive_fill`): a recompute
then would see only part of what was counted.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime

from kpi_common.db import unit_of_work
from kpi_common.logging import get_logger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_evaluator import archive_repo, buckets_repo, recompute_repo, status_repo
from kpi_evaluator.definitions import Strategy
from kpi_evaluator.evaluation import Evaluator, lock_tenant
from kpi_evaluator.folding import Folded
from kpi_evaluator.metrics import RECOMPUTE_EVENTS, RECOMPUTE_JOBS
from kpi_evaluator.recompute import (
    REQUESTED,
    ArchiveFolder,
    formula_refs,
    restrict,
    status_refs,
    touched_refs,
)
from kpi_evaluator.recompute_repo import Job
from kpi_evaluator.strategy import StrategyCache

log = get_logger(__name__)
CHUNK = 20_000
PROGRESS_EVERY = 100_000
STATES = ("pending", "running", "done")


def provenance(job_reason: str) -> str:
    """Why a recompute restated periods: an operator asked (`recompute`), or the strategy
    changed how the KPIs are measured (`definition_change`)."""
    return "recompute" if job_reason == REQUESTED else "definition_change"


class RecomputeRunner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        strategies: StrategyCache,
        evaluator: Evaluator,
        clock: Callable[[], datetime],
        poll_s: float,
        on_done: Callable[[], None] = lambda: None,
        archive_ready: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._strategies = strategies
        self._evaluator = evaluator
        self._clock = clock
        self._poll_s = poll_s
        self._on_done = on_done
        self._archive_ready = archive_ready
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Look for jobs now (a strategy change or an operator asked for one)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            with contextlib.suppress(Exception):  # logged in run_once; retried after the poll
                while await self.run_once():
                    pass
            await self.refresh_gauge()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)

    async def run_once(self) -> bool:
        """Run the oldest unfinished job no other runner holds; False when there is none, or
        while the archive fill is unfinished (jobs stay pending)."""
        if self._archive_ready is not None and not await self._archive_ready():
            return False
        job: Job | None = None
        try:
            async with unit_of_work(self._sessions) as session:
                job = await recompute_repo.claim(session)
                if job is None:
                    return False
                await recompute_repo.lock_tenant(session, job.tenant_id)
                done = await self._recompute(session, job)
                await recompute_repo.finish(session, job.id, done)
        except Exception as exc:
            log.exception("recompute failed; it stays unfinished", job=job and job.id)
            if job is not None:
                await recompute_repo.failed(self._sessions, job.id, repr(exc))
            raise
        log.info("recompute done", job=job.id, tenant=job.tenant_id, events=done)
        self._on_done()
        return True

    async def refresh_gauge(self) -> None:
        async with self._sessions() as session:
            counts = await recompute_repo.count_by_state(session)
        for state in STATES:
            RECOMPUTE_JOBS.labels(state).set(counts.get(state, 0))

    async def _recompute(self, session: AsyncSession, job: Job) -> int:
        strategy = (await self._strategies.get_many([job.tenant_id], session)).get(job.tenant_id)
        if strategy is None:
            return 0
        kpis = [strategy.kpis[k] for k in job.kpi_ids if k in strategy.kpis]
        stored = [k.id for k in kpis if k.components]
        folded, done = await self._refold(session, job, restrict(strategy, stored), stored)
        refs = touched_refs(strategy, folded.touched)
        await lock_tenant(session, job.tenant_id)
        rows = await status_repo.bounds(session, job.tenant_id)
        again, stale = status_refs(strategy, {k.id for k in kpis}, rows)
        await status_repo.delete(session, job.tenant_id, stale)
        refs += again
        for formula in (k for k in kpis if k.formula is not None):
            keys = await buckets_repo.period_keys(session, job.tenant_id, formula.inputs)
            refs += formula_refs(strategy, formula, keys)
        now = self._clock()
        await self._evaluator.run(
            session,
            strategy,
            refs,
            now,
            reason=provenance(job.reason),
            restatement_id=f"recompute-{job.id}",  # one restatement notice per route and job
        )
        return done

    async def _refold(
        self, session: AsyncSession, job: Job, only: Strategy, kpi_ids: list[str]
    ) -> tuple[Folded, int]:
        """Forget the KPIs' buckets and fold the archive into them again."""
        folder = ArchiveFolder(only)
        metrics = sorted(only.by_metric)
        total = await archive_repo.count(session, job.tenant_id, metrics) if metrics else 0
        await recompute_repo.started(self._sessions, job.id, total)
        await buckets_repo.delete_kpis(session, job.tenant_id, kpi_ids)
        done = reported = 0
        if metrics:
            async for rows in archive_repo.stream(session, job.tenant_id, metrics, CHUNK):
                folder.fold(rows)
                done += len(rows)
                RECOMPUTE_EVENTS.inc(len(rows))
                if done - reported >= PROGRESS_EVERY:
                    reported = done
                    await recompute_repo.progress(self._sessions, job.id, done)
        await buckets_repo.upsert_buckets(session, folder.folded.deltas)
        await buckets_repo.upsert_kpi_seen(session, folder.folded.seen)
        return folder.folded, done
