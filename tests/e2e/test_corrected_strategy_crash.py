"""Issue 12's real-stack case in one test, against the evaluator as a real process: events
stream under a strategy with one KPI missing (qualified-leads), one filter that matches
nothing (revenue-emea on region "nowhere"), one wrong period (new-clients per month) and a
wrong fiscal year; then the corrected strategy arrives, and the evaluator is SIGKILLed in the
middle of the recompute it causes. After the restart every actual equals the values computed
by hand, the job was done again once, and a resend of every event counts nothing. Then an
operator's `kpi recompute --all` changes nothing either, and a later change of a closed
quarter's filter restates it with its provenance (`kpi kpi-status ID --history`)."""

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from kpi_cli.evaluator import ALL_TIME
from kpi_common.db import unit_of_work
from kpi_common.kafka import ensure_topics
from kpi_evaluator import archive_repo
from kpi_evaluator.archive import Month
from kpi_evaluator.config import Settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from tests.conftest import Infra
from tests.e2e.conftest import kpi
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
    editor_key,
    publish_revision,
    wrong_strategy,
)
from tests.integration.kpi_evaluator.test_recompute import (
    kpi as kpi_of,
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
            await operator_recomputes_all(svc.url, settings, tenant)
            assert await actuals(http, tenant) == EXPECTED
            await closed_quarter_restated(svc.url, http, settings, tenant)
    finally:
        svc.stop()
        await engine.dispose()


async def operator_recomputes_all(url: str, settings: Settings, tenant: Tenant) -> None:
    """`kpi recompute --all` with an editor key, followed with `kpi recompute status`."""
    auth = await editor_key(settings, tenant)
    cli = {"KPI_EVALUATOR_URL": url, "KPI_API_KEY": auth["Authorization"].split()[1]}

    async def asked() -> bool:
        out = await asyncio.to_thread(kpi, cli, "recompute", "--all")
        return out.returncode == 0 and "queued:" in out.stdout

    await wait_until(asked, 60)  # once the evaluator learned the new key

    async def done() -> bool:
        out = await asyncio.to_thread(kpi, cli, "recompute", "status", "--json")
        newest = json.loads(out.stdout)["jobs"][0]
        return bool(newest["reason"] == "requested" and newest["state"] == "done")

    await wait_until(done, 240)


async def closed_quarter_restated(
    url: str, http: httpx.AsyncClient, settings: Settings, tenant: Tenant
) -> None:
    """new-clients counts the deals that were not a new customer: its closed 2026-Q1 goes
    from 23 to 1, and the revision says so, with why and when."""
    doc = strategy_events.load()
    kpi_of(doc, "new-clients")["measure"]["where"] = {"new_customer": False}
    await publish_revision(settings, tenant, doc, 3)

    async def restated() -> bool:
        resp = await http.get(
            "/v1/kpis/new-clients/status", params={"period": "2026-Q1"}, headers=tenant.auth
        )
        return bool(resp.json()["actual"] == 1)

    await wait_until(restated, 120)
    series = await http.get("/v1/kpis/new-clients/series", params=ALL_TIME, headers=tenant.auth)
    points = {p["period"]: p for p in series.json()["points"]}
    revisions = points["2026-Q1"]["revisions"]
    assert [(r["old"], r["new"], r["reason"]) for r in revisions] == [(23, 1, "definition_change")]
    cli = {"KPI_EVALUATOR_URL": url, "KPI_API_KEY": tenant.key}
    out = await asyncio.to_thread(kpi, cli, "kpi-status", "new-clients", "--history")
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if "2026-Q1" in line and "23" in line)
    assert "definition change" in row
    assert revisions[0]["at"][:10] in row
