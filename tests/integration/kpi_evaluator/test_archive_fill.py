"""The archive fill of an upgraded installation: events consumed before the archive existed
are archived from Kafka up to the stored offsets (not beyond), the buckets stay as they are,
a recompute asked for meanwhile waits and then gives the same actuals, and a fill interrupted
mid-way resumes where its last batch ended. Real Kafka and Postgres.

An upgrade is simulated on a running installation: its archive loses the tenant's events (as
if they were consumed before migration 0008) and the fill is marked the way migration 0010
marks it, from the metrics group's stored offsets."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from kpi_evaluator import recompute_repo
from kpi_evaluator.config import Settings
from kpi_evaluator.consumers import group_ids
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from tests.conftest import Infra
from tests.integration.kpi_evaluator.conftest import (
    Clock,
    Running,
    Tenant,
    make_settings,
    metric,
    running_app,
    send_metrics,
    wait_until,
)
from tests.integration.kpi_evaluator.test_pipeline import q1_events, start, status
from tests.integration.kpi_evaluator.test_recompute import (
    CORRECTED,
    NOW,
    archived,
    corrected,
    editor_key,
)

# what migration 0010 does, for this test's metrics group only
MARK = """
WITH stored AS (
  SELECT group_id, topic, partition, next_offset FROM evaluator.consumer_offsets
  WHERE group_id = :g AND right(topic, 14) = 'metrics.events' AND next_offset > 0
), fill AS (
  INSERT INTO evaluator.archive_fills (group_id) SELECT DISTINCT group_id FROM stored
)
INSERT INTO evaluator.archive_fill_partitions (group_id, topic, partition, until_offset)
SELECT group_id, topic, partition, next_offset FROM stored
"""


async def upgrade(settings: Settings, tenant: Tenant) -> None:
    """The tenant's events were consumed before the archive existed; the fill is marked."""
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            t = {"t": tenant.tenant_id}
            await conn.execute(text("DELETE FROM evaluator.events WHERE tenant_id = :t"), t)
            await conn.execute(
                text("DELETE FROM evaluator.metric_arrivals WHERE tenant_id = :t"), t
            )
            await conn.execute(text(MARK), {"g": group_ids(settings)[1]})
    finally:
        await engine.dispose()


async def buckets(app: Running, tenant: Tenant) -> set[str]:
    async with app.parts.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text("""SELECT CAST(to_jsonb(b) AS text) FROM evaluator.buckets b
                    WHERE tenant_id = :t"""),
            {"t": tenant.tenant_id},
        )
        return {str(r[0]) for r in rows}


async def fill_state(app: Running, tenant: Tenant) -> dict[str, Any]:
    resp = await app.client.get("/v1/recomputes", headers=tenant.auth)
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()["archive_fill"]
    return found


async def wait_filled(app: Running, tenant: Tenant) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def done() -> bool:
        found.update(await fill_state(app, tenant))
        return bool(found["state"] == "done")

    await wait_until(done, 60)
    return found


@asynccontextmanager
async def held(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session of the test's own: what it locks stays locked until it rolls back."""
    engine = create_async_engine(settings.database_url)
    try:
        async with AsyncSession(engine) as session:
            yield session
    finally:
        await engine.dispose()


async def test_an_upgraded_installation_fills_its_archive_before_any_recompute(
    settings: Settings,
) -> None:
    async with running_app(settings, Clock(NOW)) as app:
        tenant = await start(app, settings)
        other = await start(app, settings)
        events = q1_events(tenant.tenant_id)
        await send_metrics(settings, events)
        await app.wait_consumed(len(events))
        assert await corrected(app, tenant) == CORRECTED
        before = await buckets(app, tenant)
    await upgrade(settings, tenant)
    # consumed after the upgrade, by the metrics consumer: never by the fill
    later = [
        metric(other.tenant_id, "crm.lead.qualified", 1, f"2026-01-0{d}T10:00:00+00:00")
        for d in (1, 2, 3, 4)
    ]
    await send_metrics(settings, later)

    # the other tenant's live batches wait (its recompute lock), and so does the fill (its
    # progress table) until a recompute has been asked for
    async with held(settings) as live, held(settings) as progress:
        await recompute_repo.exclude_batches(live, other.tenant_id)
        await progress.execute(
            text("LOCK TABLE evaluator.archive_fill_partitions IN EXCLUSIVE MODE")
        )
        async with running_app(settings, Clock(NOW)) as app:
            editor = await editor_key(settings, tenant)

            async def key_known() -> bool:
                r = await app.client.post("/v1/recomputes", json={}, headers=editor)
                return r.status_code == 422

            await wait_until(key_known)
            asked = await app.client.post("/v1/recomputes", json={"all": True}, headers=editor)
            assert asked.status_code == 202, asked.text
            assert await app.parts.recomputes.run_once() is False  # held: the fill runs
            filling = await fill_state(app, tenant)
            assert (filling["state"], filling["offsets_total"]) == ("filling", len(events))
            scrape = (await app.client.get("/metrics")).text
            assert "evaluator_archive_fill_remaining_messages" in scrape
            await progress.rollback()  # the fill goes on

            filled = await wait_filled(app, tenant)
            assert (filled["offsets_done"], filled["not_retained"]) == (len(events), 0)
            assert await archived(app, tenant) == len(events)
            assert await archived(app, other) == 0  # not beyond the stored offsets
            assert await buckets(app, tenant) == before  # archived, never folded again
            assert app.parts.fill.archived == len(events)

            await live.rollback()  # the live batch goes on: counted once, by the consumer
            await app.wait_consumed(len(events) + len(later))
            assert await archived(app, other) == len(later)
            leads = await status(app, other, "qualified-leads", "2026-Q1")
            assert leads["actual"] == len(later)

            async def recomputed() -> bool:
                r = await app.client.get(f"/v1/recomputes/{asked.json()['id']}", headers=editor)
                return bool(r.json()["state"] == "done")

            await wait_until(recomputed, 60)
            job = await app.client.get(f"/v1/recomputes/{asked.json()['id']}", headers=editor)
            assert job.json()["events_total"] == len(events)
            assert await corrected(app, tenant) == CORRECTED


CRASH = """
CREATE FUNCTION evaluator.crash_mid_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.group_id = '{group}' AND OLD.next_offset > 0 THEN
    RAISE EXCEPTION 'crash in the middle of the fill';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER crash_mid_fill BEFORE UPDATE ON evaluator.archive_fill_partitions
FOR EACH ROW WHEN (NEW.next_offset > OLD.next_offset)
EXECUTE FUNCTION evaluator.crash_mid_fill();
"""
NO_CRASH = """
DROP TRIGGER IF EXISTS crash_mid_fill ON evaluator.archive_fill_partitions;
DROP FUNCTION IF EXISTS evaluator.crash_mid_fill();
"""


async def progress(app: Running) -> tuple[int, int]:
    """The fill's stored progress of the one partition it has: next offset, until offset."""
    async with app.parts.runtime.engine.connect() as conn:
        row = await conn.execute(
            text("""SELECT next_offset, until_offset FROM evaluator.archive_fill_partitions
                    WHERE group_id = :g"""),
            {"g": group_ids(app.settings)[1]},
        )
        found = row.one()
        return int(found[0]), int(found[1])


async def sql(settings: Settings, statements: str) -> None:
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute(statements)
    finally:
        await engine.dispose()


async def test_a_fill_interrupted_mid_way_resumes_without_reading_twice(
    infra: Infra, settings: Settings
) -> None:
    """Batches of 10; the fill's second batch rolls back, again and again, until the process
    stops; the next process goes on from the first batch's progress."""
    small = make_settings(infra, settings.topic_prefix, max_batch=10)
    async with running_app(small, Clock(NOW)) as app:
        tenant = await start(app, small)
        t = tenant.tenant_id
        events = [
            metric(t, "crm.lead.qualified", 1, f"2026-01-{d:02d}T10:00:00+00:00")
            for d in range(1, 31)
        ]  # one metric: one partition, offsets 0 to 29
        await send_metrics(small, events)
        await app.wait_consumed(len(events))
        before = await buckets(app, tenant)
    await upgrade(small, tenant)
    await sql(small, CRASH.replace("{group}", group_ids(small)[1]))
    try:
        async with running_app(small, Clock(NOW)) as app:

            async def first_batch() -> bool:
                return (await progress(app))[0] > 0 and app.parts.fill.read > 0

            await wait_until(first_batch, 60)
            assert (await fill_state(app, tenant))["state"] == "filling"
            assert await app.parts.recomputes.run_once() is False
        # stopped mid-fill: what is archived is exactly what the stored progress says
        done, until = await progress(app)
        assert 0 < done < until == len(events)
        assert await archived(app, tenant) == done
    finally:
        await sql(small, NO_CRASH)
    async with running_app(small, Clock(NOW)) as app:
        await wait_filled(app, tenant)
        assert await archived(app, tenant) == len(events)
        assert (app.parts.fill.read, app.parts.fill.archived) == (until - done, until - done)
        assert await buckets(app, tenant) == before
        assert (await status(app, tenant, "qualified-leads", "2026-Q1"))["actual"] == len(events)
