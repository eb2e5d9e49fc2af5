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
    "created_at, started_at, finished_at"
)


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


async def lock_tenant(session: AsyncSession, tenant_id: str) -> None:
    """A recompute's exclusive lock: waits for the tenant's batches in flight."""
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
        }


def _job(r: Sequence[Any]) -> Job:
    return Job(int(r[0]), r[1], list(r[2]), r[3], r[4], int(r[5]), int(r[6]), *r[7:])


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
        got = await session.execute(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _JOB_KEYS + int(job_id)}
        )
        if got.scalar_one():
            row = (
                await session.execute(
                    text(f"""SELECT {COLUMNS} FROM evaluator.recompute_jobs
                             WHERE id = :i AND state <> 'done'"""),
                    {"i": job_id},
                )
            ).first()
            if row is not None:
                return _job(tuple(row))
    return None


async def _update(sessions: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> None:
    """Progress is written in its own short transaction, so readers see it while the job's
    transaction is still open (the job's effects and `done` commit together, later)."""
    async with sessions() as session, session.begin():
        await session.execute(text(sql), params)


async def started(sessions: async_sessionmaker[AsyncSession], job_id: int, total: int) -> None:
    await _update(
        sessions,
        """UPDATE evaluator.recompute_jobs SET state = 'running', attempts = attempts + 1,
           started_at = now(), events_total = :n, events_done = 0 WHERE id = :i""",
        i=job_id,
        n=total,
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


async def finish(session: AsyncSession, job_id: int, done: int) -> None:
    """In the job's own transaction: done exactly when its effects commit."""
    await session.execute(
        text("""UPDATE evaluator.recompute_jobs SET state = 'done', events_done = :d,
                error = NULL, finished_at = now() WHERE id = :i"""),
        {"i": job_id, "d": done},
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
