"""A tick that cleans up status rows waits for an evaluation of the same tenant in flight
before it deletes anything. It used to delete first and then wait for the tenant's lock: when
the evaluation holding the lock wrote a row the tick had deleted, each waited for the other,
and PostgreSQL aborted one (seen with two evaluator replicas in `make chaos-cluster`)."""

import asyncio
import zlib
from datetime import UTC, datetime

import asyncpg
from kpi_evaluator.config import Settings

from tests.integration.kpi_evaluator.conftest import Clock, running_app, wait_until
from tests.integration.kpi_evaluator.test_pipeline import start

NOW = datetime(2026, 2, 15, tzinfo=UTC)
ORPHAN = """INSERT INTO evaluator.kpi_status
    (tenant_id, kpi_id, period_key, period_start, period_end, status, evaluated_at)
    VALUES ($1, 'gone-kpi', '2026-Q1', '2026-01-01', '2026-04-01', 'achieved', now())"""
WAITING = """SELECT count(*) FROM pg_locks
    WHERE locktype = 'advisory' AND NOT granted AND objid::bigint = $1"""


async def test_a_tick_cleaning_up_waits_for_the_evaluation_in_flight(settings: Settings) -> None:
    dsn = settings.database_url.replace("+asyncpg", "")
    async with running_app(settings, Clock(NOW)) as app:
        tenant = await start(app, settings)
        lock = zlib.crc32(f"evaluator:{tenant.tenant_id}".encode())
        evaluation, observer = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
        try:
            in_flight = evaluation.transaction()
            await in_flight.start()
            await evaluation.execute("SELECT pg_advisory_xact_lock($1)", lock)
            # a KPI the strategy lacks, written (committed) once the lock is held: the app's
            # own background tick, which may run at any time, cannot clean it up before
            await observer.execute(ORPHAN, tenant.tenant_id)
            tick = asyncio.create_task(app.parts.ticker.tick_once([tenant.tenant_id]))

            async def tick_waits() -> bool:
                return bool(await observer.fetchval(WAITING, lock))

            await wait_until(tick_waits)
            # the evaluation in flight writes the row the tick is about to clean up
            written = await evaluation.execute(
                "UPDATE evaluator.kpi_status SET actual = 1 "
                "WHERE tenant_id = $1 AND kpi_id = 'gone-kpi'",
                tenant.tenant_id,
            )
            await in_flight.commit()
            await asyncio.wait_for(tick, 30)
            left = await observer.fetchval(
                "SELECT count(*) FROM evaluator.kpi_status WHERE tenant_id = $1 "
                "AND kpi_id = 'gone-kpi'",
                tenant.tenant_id,
            )
        finally:
            await evaluation.close()
            await observer.close()
    assert written == "UPDATE 1"
    assert left == 0  # and the tick, after the evaluation, removed the orphan
