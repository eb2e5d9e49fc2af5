"""The evaluator as a real process, SIGKILLed in the middle of a recompute while live events
keep coming: after the restart the job is done again, once, and every bucket equals the
exact expected value (the archived history in the new KPI, the live stream everywhere).
Then an operator asks for another with `kpi recompute` and follows it with
`kpi recompute status`: nothing changes."""

import asyncio
import json
from pathlib import Path

import pytest
from kpi_common.db import unit_of_work
from kpi_common.kafka import ensure_topics
from kpi_evaluator import archive_repo
from kpi_evaluator.archive import Month
from kpi_evaluator.config import Settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from tests.conftest import Infra
from tests.e2e.conftest import kpi
from tests.e2e.test_evaluator_crash import consumed, expected_buckets, stored_buckets, stream
from tests.integration.kpi_evaluator.conftest import (
    Tenant,
    make_settings,
    publish_strategy,
    send_metrics,
    wait_until,
)
from tests.integration.kpi_evaluator.test_recompute import editor_key, publish_revision, without
from tests.support import strategy_events
from tests.support.procs import service

pytestmark = pytest.mark.e2e

HISTORY = 600_000  # archived invoices of 2025, value i % 100, no region


async def archive_history(engine: AsyncEngine, tenant: str) -> None:
    """A year of invoices consumed before the revenue KPI existed (written straight into the
    archive: streaming 600,000 events through Kafka would take minutes)."""
    async with unit_of_work(async_sessionmaker(engine)) as session:
        await archive_repo.create_partitions(session, {Month(2025, m) for m in range(1, 13)})
        await session.execute(
            text("""INSERT INTO evaluator.events SELECT :t, 'erp.invoice.posted', 'h' || i,
                      timestamptz '2025-01-01' + i * interval '52 second', i % 100,
                      '{}'::jsonb, now()
                    FROM generate_series(1, :n) AS i"""),
            {"t": tenant, "n": HISTORY},
        )


async def job_state(engine: AsyncEngine, tenant: str) -> tuple[str, int, int] | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("""SELECT state, attempts, events_done FROM evaluator.recompute_jobs
                        WHERE tenant_id = :t AND kpi_ids = ARRAY['revenue']"""),
                {"t": tenant},
            )
        ).first()
    return None if row is None else (row[0], row[1], row[2])


async def test_sigkill_during_a_recompute_changes_nothing(
    infra: Infra, unique: str, service_env: dict[str, str], tmp_path: Path
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    settings = make_settings(infra, prefix)
    await ensure_topics(infra.kafka_bootstrap, prefix, 3)
    env = {**service_env, "KPI_TOPIC_PREFIX": prefix, "KPI_TOPIC_PARTITIONS": "3"}
    env["KPI_EVALUATOR_MAX_BATCH"] = "500"
    svc = service("evaluator", env, tmp_path / "evaluator.log")
    engine = create_async_engine(infra.database_url)
    acme = strategy_events.load()
    try:
        tenant = await publish_strategy(settings, without(acme, "revenue"))
        t = tenant.tenant_id
        svc.start()
        await asyncio.to_thread(svc.wait_ready)
        await archive_history(engine, t)
        events = stream(t)
        half = len(events) // 2
        await send_metrics(settings, events[:half])
        await publish_revision(settings, tenant, acme, 2)
        await send_metrics(settings, events[half:])  # live events during the recompute

        async def started() -> bool:
            state = await job_state(engine, t)
            return state is not None and state[0] == "running" and state[2] > 0

        await wait_until(started, 120)
        svc.kill()
        assert await job_state(engine, t) != ("done", 1, HISTORY)
        svc.start()
        await asyncio.to_thread(svc.wait_ready)

        async def finished() -> bool:
            state = await job_state(engine, t)
            done = state is not None and state[0] == "done"
            return done and await consumed(engine, prefix) >= len(events)

        await wait_until(finished, 240)
        state = await job_state(engine, t)
        # the live invoices archived before the second attempt are folded by it, the others
        # by their own batches after it: which ones depends on timing, the buckets do not
        assert state is not None
        assert state[:2] == ("done", 2)
        assert state[2] >= HISTORY
        expected = expected_buckets(events)
        history = sum(i % 100 for i in range(1, HISTORY + 1))
        expected[("revenue", "value", "2025")] = (HISTORY, history)
        assert await stored_buckets(engine, t) == expected
        await operator_recompute(svc.url, settings, tenant)
        assert await stored_buckets(engine, t) == expected
    finally:
        svc.stop()
        await engine.dispose()


async def operator_recompute(url: str, settings: Settings, tenant: Tenant) -> None:
    auth = await editor_key(settings, tenant)
    cli = {"KPI_EVALUATOR_URL": url, "KPI_API_KEY": auth["Authorization"].split()[1]}

    async def asked() -> bool:
        out = await asyncio.to_thread(kpi, cli, "recompute", "--kpi", "revenue")
        return out.returncode == 0 and "queued: revenue" in out.stdout

    await wait_until(asked, 60)  # once the evaluator learned the new key
    assert (await asyncio.to_thread(kpi, cli, "recompute")).returncode != 0

    async def done() -> bool:
        out = await asyncio.to_thread(kpi, cli, "recompute", "status", "--json")
        newest = json.loads(out.stdout)["jobs"][0]
        return bool(newest["reason"] == "requested" and newest["state"] == "done")

    await wait_until(done, 120)
    table = await asyncio.to_thread(kpi, cli, "recompute", "status")
    assert "requested" in table.stdout
    assert f"{HISTORY + 5_000:,}/{HISTORY + 5_000:,}" in table.stdout
