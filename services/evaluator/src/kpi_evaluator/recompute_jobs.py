"""The recompute job runner: rebuilds the actuals of a job's KPIs from the archive.

One run is one transaction, under the tenant's exclusive recompute lock: delete the KPIs'
buckets, fold every archived event of their metrics with the current strategy (streamed
through a server-side cursor, folded in memory in bulk), upsert the buckets, re-evaluate the
periods, and mark the job done. A crash rolls all of it back and leaves the job unfinished:
it is done again, whole, and a rebuild done twice is the same rebuild (exactly once).
A run takes the tenant's other pending jobs with it (their KPIs rebuilt together, each marked
`merged` into it in the same transaction): a new tenant queues one job per `goals.changes`
batch that carried some of its KPIs. A run with nothing to fold and nothing folded before
completes as `no_events` without evaluating (`_nothing_to_rebuild`: a brand-new tenant).
A finished run wakes the tick for its tenant only.
Jobs wait while the archive is being filled after an upgrade (`archive_fill`): a recompute
then would see only part of what was counted.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from kpi_common.db import unit_of_work
from kpi_common.logging import get_logger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_evaluator import archive_repo, buckets_repo, recompute_repo, status_repo
from kpi_evaluator.definitions import KpiDef, Strategy
from kpi_evaluator.evaluation import Evaluator, lock_tenant
from kpi_evaluator.folding import Folded
from kpi_evaluator.metrics import RECOMPUTE_EVENTS, RECOMPUTE_FINISHED, RECOMPUTE_JOBS
from kpi_evaluator.recompute import (
    REQUESTED,
    ArchiveFolder,
    formula_refs,
    restrict,
    status_refs,
    touched_refs,
)
from kpi_evaluator.recompute_repo import MERGED, NO_EVENTS, RECOMPUTED, Job
from kpi_evaluator.strategy import StrategyCache

log = get_logger(__name__)
CHUNK = 20_000
PROGRESS_EVERY = 100_000
STATES = ("pending", "running", "done")
Done = tuple[int, str]  # events folded, outcome


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
        on_done: Callable[[Sequence[str]], None] = lambda tenants: None,
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
        """Run the oldest unfinished job no other runner holds, with the tenant's other
        pending jobs it can absorb; False when there is none, or while the archive fill is
        unfinished (jobs stay pending)."""
        if self._archive_ready is not None and not await self._archive_ready():
            return False
        job: Job | None = None
        try:
            async with unit_of_work(self._sessions) as session:
                job = await recompute_repo.claim(session)
                if job is None:
                    return False
                merged = await recompute_repo.absorb(session, job, job.reason == REQUESTED)
                absorbed = [m.id for m in merged]
                await recompute_repo.exclude_batches(session, job.tenant_id)
                done, outcome = await self._recompute(session, job, merged)
                await recompute_repo.finish(session, job.id, done, outcome, absorbed)
        except Exception as exc:
            log.exception("recompute failed; it stays unfinished", job=job and job.id)
            if job is not None:
                await recompute_repo.failed(self._sessions, job.id, repr(exc))
            raise
        self._finished(job, outcome, absorbed, done)
        return True

    def _finished(self, job: Job, outcome: str, absorbed: list[int], events: int) -> None:
        log.info(
            "recompute done",
            job=job.id,
            tenant=job.tenant_id,
            events=events,
            outcome=outcome,
            absorbed=absorbed,
        )
        RECOMPUTE_FINISHED.labels(outcome).inc()
        if absorbed:
            RECOMPUTE_FINISHED.labels(MERGED).inc(len(absorbed))
        if outcome != NO_EVENTS:  # a job that changed nothing has nothing to show or relay
            self._on_done([job.tenant_id])

    async def refresh_gauge(self) -> None:
        async with self._sessions() as session:
            counts = await recompute_repo.count_by_state(session)
        for state in STATES:
            RECOMPUTE_JOBS.labels(state).set(counts.get(state, 0))

    async def _recompute(self, session: AsyncSession, job: Job, merged: list[Job]) -> Done:
        strategy = (await self._strategies.get_many([job.tenant_id], session)).get(job.tenant_id)
        if strategy is None:
            return 0, RECOMPUTED
        wanted = set(job.kpi_ids).union(*(m.kpi_ids for m in merged))
        kpis = [strategy.kpis[k] for k in sorted(wanted) if k in strategy.kpis]
        stored = [k.id for k in kpis if k.components]
        only = restrict(strategy, stored)
        if await _nothing_to_rebuild(session, job.tenant_id, only, kpis):
            return 0, NO_EVENTS
        folded, done = await self._refold(session, job, merged, only, stored)
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
            reason=provenance(job.reason),  # absorbed jobs are of the same kind (`absorb`)
            restatement_id=f"recompute-{job.id}",  # one restatement notice per route and job
        )
        return done, RECOMPUTED

    async def _refold(
        self, session: AsyncSession, job: Job, merged: list[Job], only: Strategy, kpi_ids: list[str]
    ) -> tuple[Folded, int]:
        """Forget the KPIs' buckets and fold the archive into them again."""
        folder = ArchiveFolder(only)
        metrics = sorted(only.by_metric)
        total = await archive_repo.count(session, job.tenant_id, metrics) if metrics else 0
        await recompute_repo.started(self._sessions, job.id, total, [m.id for m in merged])
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


async def _nothing_to_rebuild(
    session: AsyncSession, tenant_id: str, only: Strategy, kpis: list[KpiDef]
) -> bool:
    """Whether the rebuild is a no-op, so the job completes as `no_events` without folding or
    evaluating: the archive holds no event of the KPIs' metrics, nothing was folded for them
    before (deleted here, as the rebuild would), and no formula KPI among them has an input
    with stored periods (a formula's past periods are evaluated by a recompute only). Then no
    actual changes; as for any strategy change, the tick woken for the tenant evaluates new
    targets and drops status rows of an older period definition.

    Asked under the tenant's exclusive recompute lock, like the rebuild itself, which makes
    it exactly once with live events: every metric batch holds that lock shared from before it
    reads the strategy until it commits. A batch that committed before the lock was granted
    has archived its events, and this query sees them (the job is then rebuilt in full). A
    batch that commits later took its lock after this transaction ended, so it read a strategy
    at least as new as the one this job was queued with (in the same transaction as the
    change), and folds its events into these KPIs live. There is no third case."""
    metrics = sorted(only.by_metric)
    if metrics and await archive_repo.any_event(session, tenant_id, metrics):
        return False
    measured = [k.id for k in kpis if k.components]
    if await buckets_repo.delete_kpis(session, tenant_id, measured):
        return False
    inputs = sorted({i for k in kpis if k.formula is not None for i in k.inputs})
    return not (inputs and await buckets_repo.period_keys(session, tenant_id, inputs))
