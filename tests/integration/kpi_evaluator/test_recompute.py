"""Acknowledged means counted: actuals do not depend on whether the events or the KPI came
first. Events streamed under a strategy that misses a KPI, filters on a value that matches
nothing, has a wrong period and a wrong fiscal calendar are recomputed from the evaluator's
archive when the strategy is corrected; the archive's retention drops whole partitions; a job
interrupted mid-way is done again, once. Real Kafka and Postgres, hand-computed values."""

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

from kpi_common.apikeys import hash_api_key, new_api_key
from kpi_common.events import ApiKeyUpserted, make_envelope
from kpi_common.topics import GOALS_CHANGES
from kpi_evaluator.config import Settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import Infra
from tests.integration.kpi_evaluator.conftest import (
    Clock,
    Running,
    Tenant,
    make_settings,
    metric,
    publish_strategy,
    running_app,
    send,
    send_metrics,
    wait_until,
)
from tests.integration.kpi_evaluator.test_pipeline import q1_events, start, status
from tests.support import strategy_events

NOW = datetime(2026, 2, 15, tzinfo=UTC)


def without(doc: dict[str, Any], kpi_id: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["kpis"] = [k for k in out["kpis"] if k["id"] != kpi_id]
    return out


def kpi(doc: dict[str, Any], kpi_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(k for k in doc["kpis"] if k["id"] == kpi_id)
    return found


async def publish_revision(
    settings: Settings, tenant: Tenant, doc: dict[str, Any], rev: int
) -> None:
    envs = strategy_events.events(tenant.tenant_id, doc, revision=rev)
    key = f"{tenant.tenant_id}:strategy"
    await send(settings, GOALS_CHANGES.name, [(key, e) for e in envs])


async def editor_key(settings: Settings, tenant: Tenant) -> dict[str, str]:
    key = new_api_key()
    data = ApiKeyUpserted(key_id=uuid.uuid4().hex, key_hash=hash_api_key(key), role="editor")
    env = make_envelope(
        id=uuid.uuid4().hex,
        tenant_id=tenant.tenant_id,
        producer="goals",
        time=datetime.now(UTC),
        data=data,
    )
    await send(settings, GOALS_CHANGES.name, [(f"{tenant.tenant_id}:apikey", env)])
    return {"Authorization": f"Bearer {key}"}


async def jobs(app: Running, tenant: Tenant) -> list[dict[str, Any]]:
    resp = await app.client.get("/v1/recomputes", headers=tenant.auth)
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["jobs"]
    return found


async def wait_job(app: Running, tenant: Tenant, kpis: list[str]) -> dict[str, Any]:
    """The newest job of exactly those KPIs, once done."""
    found: dict[str, Any] = {}

    async def done() -> bool:
        for job in await jobs(app, tenant):
            if job["kpis"] == kpis and job["state"] == "done":
                found.update(job)
                return True
        return False

    await wait_until(done, 60)
    return found


async def wait_idle(app: Running, tenant: Tenant, at_least: int) -> list[dict[str, Any]]:
    """Every job of the tenant, once there are `at_least` and all are done."""
    found: list[dict[str, Any]] = []

    async def idle() -> bool:
        found[:] = await jobs(app, tenant)
        return len(found) >= at_least and all(j["state"] == "done" for j in found)

    await wait_until(idle, 60)
    return found


async def leads(app: Running, tenant: Tenant) -> dict[str, Any]:
    periods = ("2026-Q1", "2026-Q2")
    return {p: (await status(app, tenant, "qualified-leads", p))["actual"] for p in periods}


async def test_a_kpi_added_after_its_events_counts_them(settings: Settings) -> None:
    acme = strategy_events.load()
    async with running_app(settings, Clock(NOW)) as app:
        tenant = await start(app, settings, without(acme, "qualified-leads"))
        events = q1_events(tenant.tenant_id)
        await send_metrics(settings, events)
        await app.wait_consumed(len(events))
        await publish_revision(settings, tenant, acme, 2)

        job = await wait_job(app, tenant, ["qualified-leads"])
        assert (job["reason"], job["events_total"], job["events_done"]) == ("new_kpi", 96, 96)
        assert await leads(app, tenant) == {"2026-Q1": 95, "2026-Q2": 1}
        one = await app.client.get(f"/v1/recomputes/{job['id']}", headers=tenant.auth)
        assert one.json() == job

        # an operator asks for one: editors and admins may, viewers may not
        body = {"kpi": "revenue"}
        viewer = await app.client.post("/v1/recomputes", json=body, headers=tenant.auth)
        assert viewer.status_code == 403
        editor = await editor_key(settings, tenant)

        async def key_known() -> bool:
            r = await app.client.post("/v1/recomputes", json={}, headers=editor)
            return r.status_code == 422

        await wait_until(key_known)
        asked = await app.client.post("/v1/recomputes", json=body, headers=editor)
        assert asked.status_code == 202, asked.text
        assert (asked.json()["reason"], asked.json()["state"]) == ("requested", "pending")
        again = await wait_job(app, tenant, ["revenue"])
        assert again["events_total"] == 3
        assert (await status(app, tenant, "revenue", "2026"))["actual"] == 350
        missing = await app.client.post("/v1/recomputes", json={"kpi": "nope"}, headers=editor)
        assert missing.status_code == 404
        scrape = (await app.client.get("/metrics")).text
        assert "evaluator_recompute_events_total" in scrape
        assert 'evaluator_recompute_jobs{state="done"}' in scrape


def wrong_strategy() -> dict[str, Any]:
    """acme with a fiscal year from April, no qualified-leads KPI, a filter on EMEA revenue
    that matches nothing and new clients counted per month instead of per quarter."""
    doc = without(strategy_events.load(), "qualified-leads")
    doc["organization"]["fiscal_year_start"] = "04-01"
    kpi(doc, "revenue-emea")["measure"]["where"] = {"region": "nowhere"}
    kpi(doc, "new-clients")["period"] = "month"
    return doc


# by hand from q1_events (see test_pipeline): on the corrected (calendar-year) strategy
CORRECTED = {
    ("new-clients", "2026-Q1"): 23,
    ("revenue", "2026"): 350,
    ("revenue-emea", "2026"): 300,
    ("revenue-amer", "2026"): 50,
    ("qualified-leads", "2026-Q1"): 95,
    ("qualified-leads", "2026-Q2"): 1,
    ("ar-days", "2026-Q1"): 35,
    ("profit-margin", "2026"): (350 - 70) / 350,
    ("churn-rate", "2026-Q1"): 2 / 80,
}


async def corrected(app: Running, tenant: Tenant) -> dict[tuple[str, str], Any]:
    return {(k, p): (await status(app, tenant, k, p))["actual"] for k, p in CORRECTED}


async def test_a_corrected_strategy_restates_every_actual_and_a_resend_counts_nothing(
    settings: Settings,
) -> None:
    async with running_app(settings, Clock(NOW)) as app:
        tenant = await start(app, settings, wrong_strategy())
        events = q1_events(tenant.tenant_id)
        await send_metrics(settings, events)
        await app.wait_consumed(len(events))
        assert (await status(app, tenant, "revenue-emea", "2025"))["actual"] is None
        assert (await status(app, tenant, "new-clients", "2026-01"))["actual"] == 23

        first = await wait_idle(app, tenant, 1)  # the first apply's KPIs (new, no events)
        await publish_revision(settings, tenant, strategy_events.load(), 2)
        every = {k["id"] for k in strategy_events.load()["kpis"]}
        done = await wait_idle(app, tenant, len(first) + 1)
        later = [j for j in done if j["id"] > max(f["id"] for f in first)]
        assert set().union(*(j["kpis"] for j in later)) == every
        reasons = set().union(*(j["reason"].split(",") for j in later))
        assert reasons == {"calendar_changed", "definition_changed", "new_kpi"}
        assert await corrected(app, tenant) == CORRECTED
        async with app.parts.runtime.engine.connect() as conn:
            keys = await conn.execute(
                text("""SELECT period_key FROM evaluator.kpi_status
                        WHERE tenant_id = :t AND kpi_id = 'new-clients'"""),
                {"t": tenant.tenant_id},
            )
            assert {r[0] for r in keys} <= {"2025-Q4", "2026-Q1"}  # no month rows left

        await send_metrics(settings, events)  # the same events again: counted nothing
        await app.wait_consumed(2 * len(events))
        assert await corrected(app, tenant) == CORRECTED


async def archived(app: Running, tenant: Tenant) -> int:
    async with app.parts.runtime.engine.connect() as conn:
        row = await conn.execute(
            text("SELECT count(*) FROM evaluator.events WHERE tenant_id = :t"),
            {"t": tenant.tenant_id},
        )
        return int(row.scalar_one())


async def add_revisions(app: Running, tenant_id: str, times: list[str]) -> None:
    async with app.parts.runtime.engine.begin() as conn:
        for at in times:
            await conn.execute(
                text("""INSERT INTO evaluator.kpi_revisions (tenant_id, kpi_id, period_key,
                          old_actual, new_actual, revised_at, reason, restatement_id)
                        VALUES (:t, 'operating-costs', '2024', 1, 2, :at, 'late_events', 'r')"""),
                {"t": tenant_id, "at": datetime.fromisoformat(at)},
            )


async def revised(app: Running, tenant_id: str) -> list[datetime]:
    async with app.parts.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text("""SELECT revised_at FROM evaluator.kpi_revisions
                    WHERE tenant_id = :t AND restatement_id = 'r' ORDER BY revised_at"""),
            {"t": tenant_id},
        )
        return [r[0] for r in rows]


async def test_retention_drops_whole_partitions_and_refuses_what_lies_before_it(
    infra: Infra, settings: Settings
) -> None:
    clock = Clock(NOW)
    kept = make_settings(infra, settings.topic_prefix, archive_retention_months=12)
    async with running_app(kept, clock) as app:
        tenant = await start(app, kept)
        t = tenant.tenant_id
        old = metric(t, "erp.expense.posted", 5, "2025-02-10T00:00:00+00:00", event_id="old")
        events = [
            old,
            metric(t, "erp.expense.posted", 7, "2025-01-31T23:59:59+00:00"),  # before horizon
            metric(t, "erp.expense.posted", 11, "2026-02-01T00:00:00+00:00"),
        ]
        await send_metrics(kept, events)
        await app.wait_consumed(3)
        assert await archived(app, tenant) == 2
        assert (await status(app, tenant, "operating-costs", "2025"))["actual"] == 5
        async with app.parts.runtime.engine.connect() as conn:
            names = await conn.execute(
                text("""SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                        WHERE i.inhparent = CAST('evaluator.events' AS regclass)""")
            )
            assert {"events_p202502", "events_p202602", "events_p202603"} <= {r[0] for r in names}

        await add_revisions(app, t, ["2025-02-28T23:59:59+00:00", "2025-03-01T00:00:00+00:00"])
        clock.now = datetime(2026, 3, 15, tzinfo=UTC)  # the horizon moves to 2025-03
        assert await app.parts.archive.prune_once() == ["events_p202502"]
        assert await archived(app, tenant) == 1
        # revisions made before the horizon go too; the one made at it stays
        assert await revised(app, t) == [datetime(2025, 3, 1, tzinfo=UTC)]
        await send_metrics(kept, [old])  # its partition is gone: refused, never counted again
        await app.wait_consumed(4)
        assert (await status(app, tenant, "operating-costs", "2025"))["actual"] == 5
        scrape = (await app.client.get("/metrics")).text
        assert "evaluator_events_expired_total" in scrape
        assert "evaluator_archive_partitions_dropped_total" in scrape


async def test_an_interrupted_job_is_done_again_exactly_once(settings: Settings) -> None:
    acme = strategy_events.load()
    blocking = create_async_engine(settings.database_url)
    blocker = await blocking.connect()
    try:
        async with running_app(settings, Clock(NOW)) as app:
            tenant = await start(app, settings, without(acme, "qualified-leads"))
            events = q1_events(tenant.tenant_id)
            await send_metrics(settings, events)
            await app.wait_consumed(len(events))
            await wait_idle(app, tenant, 1)
            # the next job starts, then waits on the buckets until the evaluator stops
            await blocker.execute(text("LOCK TABLE evaluator.buckets IN EXCLUSIVE MODE"))
            await publish_revision(settings, tenant, acme, 2)

            async def running() -> bool:
                return any(j["state"] == "running" for j in await jobs(app, tenant))

            await wait_until(running, 60)
            stuck = (await jobs(app, tenant))[0]
            assert (stuck["kpis"], stuck["attempts"]) == (["qualified-leads"], 1)
        # stopped mid-job: its transaction rolled back, the job is left unfinished
        await blocker.rollback()
    finally:
        await blocker.close()
        await blocking.dispose()
    async with running_app(settings, Clock(NOW)) as app:
        job = await wait_job(app, tenant, ["qualified-leads"])
        assert (job["attempts"], job["events_done"]) == (2, 96)
        assert await leads(app, tenant) == {"2026-Q1": 95, "2026-Q2": 1}
        again = [j for j in await jobs(app, tenant) if "qualified-leads" in j["kpis"]]
        assert len(again) == 1  # the same job, done once


async def test_other_tenants_keep_flowing_during_a_recompute(settings: Settings) -> None:
    """Tenant A's recompute holds A's exclusive lock and is stuck mid-job (on A's buckets,
    row-locked by another transaction); tenant B's events are consumed and counted meanwhile."""
    acme = strategy_events.load()
    emea_only = copy.deepcopy(acme)
    kpi(emea_only, "revenue")["measure"]["where"] = {"region": "emea"}
    blocking = create_async_engine(settings.database_url)
    blocker = await blocking.connect()
    try:
        async with running_app(settings, Clock(NOW)) as app:
            a = await start(app, settings)
            await send_metrics(settings, q1_events(a.tenant_id))
            await app.wait_consumed(96)
            await wait_idle(app, a, 1)
            await blocker.execute(
                text("""SELECT 1 FROM evaluator.buckets
                        WHERE tenant_id = :t AND kpi_id = 'revenue' FOR UPDATE"""),
                {"t": a.tenant_id},
            )
            await publish_revision(settings, a, emea_only, 2)

            async def running() -> bool:
                return any(j["state"] == "running" for j in await jobs(app, a))

            await wait_until(running, 60)
            b = await start(app, settings)
            await send_metrics(settings, q1_events(b.tenant_id))
            await app.wait_consumed(2 * 96)
            assert await corrected(app, b) == CORRECTED  # B counted while A's job waits
            stuck = [j for j in await jobs(app, a) if j["kpis"] == ["revenue"]]
            assert [j["state"] for j in stuck] == ["running"]
            await blocker.rollback()
            await wait_job(app, a, ["revenue"])
            assert (await status(app, a, "revenue", "2026"))["actual"] == 300
    finally:
        await blocker.close()
        await blocking.dispose()


Q1 = {"period": "2026-Q1"}


async def test_apply_and_send_at_once_counts_every_event_twenty_times(settings: Settings) -> None:
    """The reported case: a strategy and its first events sent together, with no wait (half of
    the tenants' events even go out first), read back: every actual equals the events sent."""
    doc = strategy_events.load()
    leads = [f"2026-01-0{d}T10:00:00+00:00" for d in (1, 2, 3)]
    async with running_app(settings, Clock(NOW)) as app:
        tenants = []
        for i in range(20):
            t = str(uuid.uuid4())
            events = [metric(t, "crm.lead.qualified", 1, at) for at in leads]
            if i % 2:
                await send_metrics(settings, events)
            tenants.append(await publish_strategy(settings, doc, tenant_id=t))
            if not i % 2:
                await send_metrics(settings, events)

        async def counted() -> bool:
            for tenant in tenants:
                r = await app.client.get(
                    "/v1/kpis/qualified-leads/status", params=Q1, headers=tenant.auth
                )
                if r.status_code != 200 or r.json()["actual"] != 3:
                    return False
            return True

        await wait_until(counted, 120)
