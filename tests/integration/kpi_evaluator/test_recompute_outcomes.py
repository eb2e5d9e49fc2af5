"""How recompute jobs finish, and that each says so: a tenant's pending jobs of one kind run as
one (the others `merged` into it, in the same transaction), a job with nothing archived and
nothing folded before completes as `no_events` without a rebuild, but not while a batch that
archived events of its KPIs is still in flight, and one whose archived events were dropped by
the retention still forgets what was folded. Real Kafka and Postgres."""

import copy
from datetime import UTC, datetime
from typing import Any

from kpi_common.db import unit_of_work
from kpi_evaluator import archive_repo, recompute_repo
from kpi_evaluator.archive import Month
from kpi_evaluator.config import Settings
from kpi_evaluator.recompute_repo import _tenant_key
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from tests.conftest import Infra
from tests.integration.kpi_evaluator.conftest import (
    Clock,
    make_settings,
    metric,
    running_app,
    send_metrics,
    wait_until,
)
from tests.integration.kpi_evaluator.test_pipeline import q1_events, start, status
from tests.integration.kpi_evaluator.test_recompute import (
    NOW,
    jobs,
    kpi,
    leads,
    publish_revision,
    wait_idle,
    wait_job,
    without,
)
from tests.support import strategy_events

Buckets = dict[tuple[str, str, str], tuple[int, float]]


async def buckets(engine: AsyncEngine, tenant: str, kpis: list[str]) -> Buckets:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("""SELECT kpi_id, component, period_key, count, total FROM evaluator.buckets
                    WHERE tenant_id = :t AND kpi_id = ANY(CAST(:k AS text[]))"""),
            {"t": tenant, "k": kpis},
        )
        return {(r[0], r[1], r[2]): (int(r[3]), float(r[4])) for r in rows}


async def lose_and_queue(engine: AsyncEngine, tenant: str) -> list[int]:
    """Forget the buckets of two KPIs and queue three jobs: two of a strategy change, one an
    operator's request (while no evaluator runs, so all three are pending together)."""
    async with unit_of_work(async_sessionmaker(engine)) as session:
        await session.execute(
            text("""DELETE FROM evaluator.buckets WHERE tenant_id = :t
                    AND kpi_id IN ('qualified-leads', 'revenue')"""),
            {"t": tenant},
        )
        queued = [
            await recompute_repo.add(session, tenant, ["qualified-leads"], "definition_changed"),
            await recompute_repo.add(session, tenant, ["revenue"], "new_kpi"),
            await recompute_repo.add(session, tenant, ["revenue"], "requested"),
        ]
    return [j.id for j in queued]


async def test_a_tenants_pending_jobs_run_as_one_and_each_says_how_it_finished(
    settings: Settings,
) -> None:
    engine = create_async_engine(settings.database_url)
    rebuilt = ["qualified-leads", "revenue"]
    try:
        async with running_app(settings, Clock(NOW)) as app:
            tenant = await start(app, settings)
            first = await wait_idle(app, tenant, 1)  # its KPIs were new, nothing archived yet
            assert {j["outcome"] for j in first} <= {"no_events", "merged"}
            assert "no_events" in {j["outcome"] for j in first}
            events = q1_events(tenant.tenant_id)
            await send_metrics(settings, events)
            await app.wait_consumed(len(events))
            folded = await buckets(engine, tenant.tenant_id, rebuilt)
        a, b, c = await lose_and_queue(engine, tenant.tenant_id)
        async with running_app(settings, Clock(NOW)) as app:
            done = {j["id"]: j for j in await wait_idle(app, tenant, len(first) + 3)}
            scrape = (await app.client.get("/metrics")).text
        assert await buckets(engine, tenant.tenant_id, rebuilt) == folded
        merged, into = done[a], done[b]
        assert (merged["outcome"], merged["absorbed"], merged["kpis"]) == (
            "recomputed",
            [b],
            ["qualified-leads"],
        )
        assert merged["events_total"] == merged["events_done"] > 96  # leads and invoices
        assert (into["outcome"], into["merged_into"], into["state"]) == ("merged", a, "done")
        assert (done[c]["outcome"], done[c]["absorbed"]) == ("recomputed", [])  # another kind
        assert done[c]["events_total"] == 3
        assert 'evaluator_recompute_jobs_finished_total{outcome="merged"}' in scrape
    finally:
        await engine.dispose()


async def test_a_changed_kpi_whose_events_the_retention_dropped_forgets_its_folds(
    infra: Infra, settings: Settings
) -> None:
    """Nothing archived to fold, but a bucket folded before: not `no_events`; the rebuild
    (of nothing) deletes it, as it always did."""
    clock = Clock(NOW)
    kept = make_settings(infra, settings.topic_prefix, archive_retention_months=12)
    doc = strategy_events.load()
    async with running_app(kept, clock) as app:
        tenant = await start(app, kept, doc)
        t = tenant.tenant_id
        await send_metrics(kept, [metric(t, "erp.expense.posted", 5, "2025-02-10T00:00:00Z")])
        await app.wait_consumed(1)
        assert (await status(app, tenant, "operating-costs", "2025"))["actual"] == 5
        clock.now = datetime(2026, 3, 15, tzinfo=UTC)
        assert "events_p202502" in await app.parts.archive.prune_once()
        changed: dict[str, Any] = copy.deepcopy(doc)
        kpi(changed, "operating-costs")["measure"]["aggregation"] = "max"
        await publish_revision(kept, tenant, changed, 2)
        job = await wait_job(app, tenant, ["operating-costs"])
        assert (job["outcome"], job["events_total"], job["events_done"]) == ("recomputed", 0, 0)
        assert (await status(app, tenant, "operating-costs", "2025"))["actual"] is None
        assert all(j["state"] == "done" for j in await jobs(app, tenant))


async def waiting_for(engine: AsyncEngine, tenant: str) -> bool:
    """Whether a transaction waits for the tenant's recompute lock."""
    async with engine.connect() as conn:
        found = await conn.execute(
            text("""SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
                    AND NOT granted AND objid = CAST(:k AS bigint)"""),
            {"k": _tenant_key(tenant)},
        )
        return bool(found.scalar_one())


async def test_an_event_archived_by_a_batch_in_flight_is_counted_not_skipped(
    settings: Settings,
) -> None:
    """A batch holds the tenant's recompute lock shared, has archived an event of a KPI it
    does not know yet, and has not committed when the KPI's job starts: the job waits for it,
    then sees the event (asked before the lock, the archive would look empty: `no_events`,
    and the event would count nowhere)."""
    engine = create_async_engine(settings.database_url)
    batch = async_sessionmaker(engine)()  # a metric batch, by hand
    try:
        async with running_app(settings, Clock(NOW)) as app:
            tenant = await start(app, settings, without(strategy_events.load(), "qualified-leads"))
            t = tenant.tenant_id
            await wait_idle(app, tenant, 1)
            async with unit_of_work(async_sessionmaker(engine)) as session:
                await archive_repo.create_partitions(session, {Month(2026, 1)})
            await recompute_repo.share_tenants(batch, [t])
            await batch.execute(
                text("""INSERT INTO evaluator.events VALUES (:t, 'crm.lead.qualified', 'late-1',
                        timestamptz '2026-01-05', 1, '{}'::jsonb, now())"""),
                {"t": t},
            )
            await publish_revision(settings, tenant, strategy_events.load(), 2)

            async def job_waits() -> bool:
                return await waiting_for(engine, t)

            await wait_until(job_waits, 60)
            await batch.commit()
            job = await wait_job(app, tenant, ["qualified-leads"])
            assert (job["outcome"], job["events_total"]) == ("recomputed", 1)
            assert await leads(app, tenant) == {"2026-Q1": 1, "2026-Q2": None}
    finally:
        await batch.close()
        await engine.dispose()
