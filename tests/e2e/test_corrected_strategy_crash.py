"""Issue 12's real-stack case in one test, against the evaluator as a real process: events
stream under a strategy with one KPI missing (qualified-leads), one filter that matches
nothing (revenue-emea on region "nowhere"), one wrong period (new-clients per month) and a
wrong fiscal year; then the corrected strategy arrives, and the evaluator is SIGKILLed in the
middle of the recompute it causes. After the restart every actual equals the values computed
by hand, the job was done again once, and a resend of every event counts nothing."""

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from kpi_common.db import unit_of_work
from kpi_common.kafka import ensure_topics
from kpi_evaluator import archive_repo
from kpi_evaluator.archive import Month
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from tests.conftest import Infra
from tests.e2e.test_evaluator_crash import consumed
from tests.integration.kpi_evaluator.conftest import (
    Tenant,
    make_settings,
    publish_strategy,
    send_metrics,
    wait_until,
)
from tests.integration.kpi_evaluator.test_pipeline import q1_events
from tests.integration.kpi_evaluator.test_recompute import (
    CORRECTED,
    publish_revision,
    wrong_strategy,
)
from tests.support import strategy_events
from tests.support.procs import service

pytestmark = pytest.mark.e2e

# qualified leads of 2025-Q3 consumed before the KPI existed, so that the recompute lasts long
# enough to be killed (written straight into the archive: 600,000 events through Kafka would
# take minutes); one every 13 s from July 1st stays within the quarter
HISTORY = 600_000
EXPECTED = {**CORRECTED, ("qualified-leads", "2025-Q3"): HISTORY}


async def archive_leads(engine: AsyncEngine, tenant: str) -> None:
    async with unit_of_work(async_sessionmaker(engine)) as session:
        await archive_repo.create_partitions(session, {Month(2025, m) for m in (7, 8, 9)})
        await session.execute(
            text("""INSERT INTO evaluator.events SELECT :t, 'crm.lead.qualified', 'h' || i,
                      timestamptz '2025-07-01' + i * interval '13 second', 1, '{}'::jsonb,
                      now()
                    FROM generate_series(1, :n) AS i"""),
            {"t": tenant, "n": HISTORY},
        )


async def jobs(http: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    resp = await http.get("/v1/recomputes", headers=tenant.auth)
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["jobs"]
    return found


async def actuals(http: httpx.AsyncClient, tenant: Tenant) -> dict[tuple[str, str], Any]:
    out: dict[tuple[str, str], Any] = {}
    for kpi_id, period in EXPECTED:
        resp = await http.get(
            f"/v1/kpis/{kpi_id}/status", params={"period": period}, headers=tenant.auth
        )
        assert resp.status_code == 200, resp.text
        out[(kpi_id, period)] = resp.json()["actual"]
    return out


async def test_a_corrected_strategy_survives_a_sigkill_mid_recompute(
    infra: Infra, unique: str, service_env: dict[str, str], tmp_path: Path
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    settings = make_settings(infra, prefix)
    await ensure_topics(infra.kafka_bootstrap, prefix, 3)
    env = {**service_env, "KPI_TOPIC_PREFIX": prefix, "KPI_TOPIC_PARTITIONS": "3"}
    svc = service("evaluator", env, tmp_path / "evaluator.log")
    engine = create_async_engine(infra.database_url)
    try:
        tenant = await publish_strategy(settings, wrong_strategy())
        svc.start()
        await asyncio.to_thread(svc.wait_ready)
        await archive_leads(engine, tenant.tenant_id)
        events = q1_events(tenant.tenant_id)
        await send_metrics(settings, events)

        async with httpx.AsyncClient(base_url=svc.url, timeout=30) as http:

            async def wrong_counted() -> bool:
                if await consumed(engine, prefix) < len(events):
                    return False
                found = await jobs(http, tenant)
                return bool(found) and all(j["state"] == "done" for j in found)

            await wait_until(wrong_counted, 120)
            before = {j["id"] for j in await jobs(http, tenant)}
            await publish_revision(settings, tenant, strategy_events.load(), 2)

            async def running() -> bool:
                return any(
                    j["id"] not in before and j["state"] == "running" and j["events_done"] > 0
                    for j in await jobs(http, tenant)
                )

            await wait_until(running, 120)
        svc.kill()
        svc.start()
        await asyncio.to_thread(svc.wait_ready)

        async with httpx.AsyncClient(base_url=svc.url, timeout=30) as http:

            async def recomputed() -> bool:
                later = [j for j in await jobs(http, tenant) if j["id"] not in before]
                return bool(later) and all(j["state"] == "done" for j in later)

            await wait_until(recomputed, 240)
            later = [j for j in await jobs(http, tenant) if j["id"] not in before]
            killed = [j for j in later if j["attempts"] == 2]
            assert len(killed) == 1, later  # the job the SIGKILL interrupted, done again once
            assert killed[0]["events_done"] == killed[0]["events_total"]
            assert killed[0]["events_total"] >= HISTORY
            assert await actuals(http, tenant) == EXPECTED

            await send_metrics(settings, events)  # every event again: counted nothing

            async def resent() -> bool:
                return await consumed(engine, prefix) >= 2 * len(events)

            await wait_until(resent, 120)
            assert await actuals(http, tenant) == EXPECTED
    finally:
        svc.stop()
        await engine.dispose()
