"""SQL of recompute jobs and of the per-tenant recompute lock.

Metric batches take the tenant's lock SHARED (they run side by side), a recompute takes it
EXCLUSIVE: a batch never folds with a strategy that a running recompute has already replaced,
and a recompute sees every event committed before it (docs/evaluator.md, "Recomputation").
"""

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_evaluator.strategy_repo import Executor

_JOB_KEYS = 1 << 40  # job locks live above every crc32 tenant key
COLUMNS = (
    "id, tenant_id, kpi_ids, reason, state, attempts, events_done, events_total, error, "
    "created_at, started_at, finished_at, outcome, merged_into, absorbed"
)
RECOMPUTED, NO_EVENTS, MERGED = "recomputed", "no_events", "merged"  # a finished job's outcome
MAX_ABSORBED = 1_000  # a tenant's pending jobs one run takes over


def _tenant_key(tenant_id: str) -> int:
    return zlib.crc32(f"evaluator-recompute:{tenant_id}".encode())


async def share_tenants(session: AsyncSession, tenants: Sequence[str]) -> None:
    """A metric batch's shared locks on its tenants, in one order (no deadlock)."""
    if tenants:
        keys = sorted({_tenant_key(t) for t in tenants})
        await session.execute(
            text("""SELECT count(pg_advisory_xact_lock_shared(k))
                    FROM (SELECT unnest(CAST(:k AS bigint[])) AS k ORDER BY 1) AS s"""),
            {"k": keys},
        )


async def exclude_batches(session: AsyncSession, tenant_id: str) -> None:
    """A recompute's exclusive hold on the lock `share_tenants` shares: waits for the
    tenant's metric batches in flight and keeps new ones out until the transaction ends.
    (Not the evaluation lock of `evaluation.lock_tenants`, which serialises status writes.)"""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _tenant_key(tenant_id)})


@dataclass(frozen=True)
class Job:
    id: int
    tenant_id: str
    kpi_ids: list[str]
    reason: str
    state: str
    attempts: int
    events_done: int
    events_total: int | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    outcome: str | None = None
    merged_into: int | None = None
    absorbed: tuple[int, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kpis": self.kpi_ids,
            "reason": self.reason,
            "state": self.state,
            "attempts": self.attempts,
            "events_done": self.events_done,
            "events_total": self.events_total,
            "error": self.error,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "outcome": self.outcome,
            "merged_into": self.merged_into,
            "absorbed": list(self.absorbed),
        }


def _job(r: Sequence[Any]) -> Job:
    return Job(
        id=int(r[0]),
        tenant_id=r[1],
        kpi_ids=list(r[2]),
        reason=r[3],
        state=r[4],
        attempts=int(r[5]),
        events_done=int(r[6]),
        events_total=r[7],
        error=r[8],
        created_at=r[9],
        started_at=r[10],
        finished_at=r[11],
        outcome=r[12],
        merged_into=r[13],
        absorbed=tuple(int(i) for i in r[14]),
    )


async def add(conn: Executor, tenant_id: str, kpi_ids: Sequence[str], reason: str) -> Job:
    row = await conn.execute(
        text(f"""INSERT INTO evaluator.recompute_jobs (tenant_id, kpi_ids, reason)
                 VALUES (:t, CAST(:k AS text[]), :r) RETURNING {COLUMNS}"""),
        {"t": tenant_id, "k": sorted(set(kpi_ids)), "r": reason},
    )
    return _job(tuple(row.one()))


async def claim(session: AsyncSession) -> Job | None:
    """The oldest unfinished job no other runner holds, locked for this transaction; jobs
    that failed last time come after the others (one failing job never holds up the rest)."""
    ids = await session.execute(
        text("""SELECT id FROM evaluator.recompute_jobs WHERE state <> 'done'
                ORDER BY error IS NOT NULL, id LIMIT 50""")
    )
    for (job_id,) in ids.all():
        held = await _hold(session, [int(job_id)])
        if held:
            return held[0]
    return None


async def absorb(session: AsyncSession, job: Job, requested: bool) -> list[Job]:
    """The tenant's other unfinished jobs that this run can do too, locked for this
    transaction like `claim`'s: those no other runner holds, of the same kind (an operator's
    request, or a strategy change: `requested`), never one that failed (it is retried on its
    own). None when `job` itself failed last time."""
    if job.error is not None:
        return []
    ids = await session.execute(
        text("""SELECT id FROM evaluator.recompute_jobs
                WHERE tenant_id = :t AND state <> 'done' AND error IS NULL AND id <> :i
                  AND (reason = 'requested') = :r
                ORDER BY id LIMIT :n"""),
        {"t": job.tenant_id, "i": job.id, "r": requested, "n": MAX_ABSORBED},
    )
    return await _hold(session, [int(r[0]) for r in ids])


async def _hold(session: AsyncSession, ids: Sequence[int]) -> list[Job]:
    """Of those jobs, the ones this transaction could lock and that are still unfinished
    once locked (a runner that held one may have finished it meanwhile)."""
    got = []
    for job_id in ids:
        locked = await session.execute(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _JOB_KEYS + job_id}
        )
        if locked.scalar_one():
            got.append(job_id)
    if not got:
        return []
    rows = await session.execute(
        text(f"""SELECT {COLUMNS} FROM evaluator.recompute_jobs
                 WHERE id = ANY(CAST(:i AS bigint[])) AND state <> 'done' ORDER BY id"""),
        {"i": got},
    )
    return [_job(tuple(r)) for r in rows]


async def _update(sessions: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> None:
    """Progress is written in its own short transaction, so readers see it while the job's
    transaction is still open (the job's effects and `done` commit together, later)."""
    async with sessions() as session, session.begin():
        await session.execute(text(sql), params)


async def started(
    sessions: async_sessionmaker[AsyncSession], job_id: int, total: int, absorbed: Sequence[int]
) -> None:
    """The job runs (one more attempt), and so do the jobs it absorbed."""
    await _update(
        sessions,
        """UPDATE evaluator.recompute_jobs SET state = 'running',
           attempts = attempts + CASE WHEN id = :i THEN 1 ELSE 0 END, started_at = now(),
           events_total = CASE WHEN id = :i THEN CAST(:n AS bigint) END, events_done = 0
           WHERE id = :i OR id = ANY(CAST(:a AS bigint[]))""",
        i=job_id,
        n=total,
        a=list(absorbed),
    )


async def progress(sessions: async_sessionmaker[AsyncSession], job_id: int, done: int) -> None:
    await _update(
        sessions,
        "UPDATE evaluator.recompute_jobs SET events_done = :d WHERE id = :i",
        i=job_id,
        d=done,
    )


async def failed(sessions: async_sessionmaker[AsyncSession], job_id: int, error: str) -> None:
    await _update(
        sessions,
        "UPDATE evaluator.recompute_jobs SET error = :e WHERE id = :i",
        i=job_id,
        e=error[:2000],
    )


async def finish(
    session: AsyncSession, job_id: int, done: int, outcome: str, absorbed: Sequence[int]
) -> None:
    """In the job's own transaction: done exactly when its effects commit, and with it the
    jobs it absorbed (`merged`, pointing at it). A run that found nothing to rebuild never
    said `started`: it counts its attempt here."""
    await session.execute(
        text("""UPDATE evaluator.recompute_jobs SET state = 'done', events_done = :d,
                error = NULL, finished_at = now(), outcome = :o,
                absorbed = CAST(:a AS bigint[]),
                attempts = attempts + CASE WHEN :o = 'no_events' THEN 1 ELSE 0 END,
                started_at = CASE WHEN :o = 'no_events' THEN now() ELSE started_at END
                WHERE id = :i"""),
        {"i": job_id, "d": done, "o": outcome, "a": list(absorbed)},
    )
    if absorbed:
        await session.execute(
            text("""UPDATE evaluator.recompute_jobs SET state = 'done', error = NULL,
                    finished_at = now(), outcome = 'merged', merged_into = :i
                    WHERE id = ANY(CAST(:a AS bigint[]))"""),
            {"i": job_id, "a": list(absorbed)},
        )


async def list_jobs(conn: Executor, tenant_id: str, limit: int = 50) -> list[Job]:
    rows = await conn.execute(
        text(f"""SELECT {COLUMNS} FROM evaluator.recompute_jobs WHERE tenant_id = :t
                 ORDER BY id DESC LIMIT :n"""),
        {"t": tenant_id, "n": limit},
    )
    return [_job(tuple(r)) for r in rows]


async def get(conn: Executor, tenant_id: str, job_id: int) -> Job | None:
    row = (
        await conn.execute(
            text(f"""SELECT {COLUMNS} FROM evaluator.recompute_jobs
                     WHERE tenant_id = :t AND id = :i"""),
            {"t": tenant_id, "i": job_id},
        )
    ).first()
    return None if row is None else _job(tuple(row))


async def count_by_state(conn: Executor) -> dict[str, int]:
    rows = await conn.execute(
        text("SELECT state, count(*) FROM evaluator.recompute_jobs GROUP BY state")
    )
    return {str(r[0]): int(r[1]) for r in rows}


async def prune(session: AsyncSession, before: datetime) -> None:
    """Finished jobs are kept for a while, then forgotten (no table grows forever)."""
    await session.execute(
        text("""DELETE FROM evaluator.recompute_jobs
                WHERE state = 'done' AND finished_at < :b"""),
        {"b": before},
    )
