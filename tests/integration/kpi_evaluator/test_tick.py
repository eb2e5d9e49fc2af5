"""The periodic tick: a closed period is written once after its close, then left alone while
time alone cannot change it; a breach timer keeps it ticking; an unchanged evaluation leaves
the row (and its `evaluated_at`) as it was."""

from datetime import UTC, datetime, timedelta

from kpi_evaluator.config import Settings

from tests.conftest import Infra
from tests.integration.kpi_evaluator.conftest import Clock, make_settings, running_app, send_metrics
from tests.integration.kpi_evaluator.test_breaches import deals
from tests.integration.kpi_evaluator.test_pipeline import start, status


async def test_a_settled_closed_period_is_left_alone_by_the_tick(settings: Settings) -> None:
    clock = Clock(datetime(2026, 2, 15, tzinfo=UTC))
    async with running_app(settings, clock) as app:
        tenant = await start(app, settings)
        t = tenant.tenant_id
        await send_metrics(settings, deals(t, 22, "2026-01-20T10:00:00+00:00"))
        await app.wait_consumed(22)
        open_q1 = await status(app, tenant, "new-clients", "2026-Q1")
        clock.now = datetime(2026, 4, 15, tzinfo=UTC)  # Q1 closed
        await app.parts.ticker.tick_once([t], cleanup=False)
        closed = await status(app, tenant, "new-clients", "2026-Q1")
        assert closed["evaluated_at"] != open_q1["evaluated_at"]  # the close is written
        assert (closed["actual"], closed["expected"]) == (22, 50)
        clock.now = datetime(2026, 4, 16, tzinfo=UTC)
        await app.parts.ticker.tick_once([t], cleanup=False)
        assert await status(app, tenant, "new-clients", "2026-Q1") == closed
        await app.parts.ticker.tick_once([t], cleanup=True)  # evaluated, found unchanged
        assert await status(app, tenant, "new-clients", "2026-Q1") == closed


async def test_a_closed_period_with_a_breach_timer_keeps_ticking(infra: Infra, unique: str) -> None:
    settings = make_settings(infra, f"{infra.topic_prefix}{unique}.", breach_for_s=3600.0)
    clock = Clock(datetime(2026, 3, 31, 23, 30, tzinfo=UTC))
    async with running_app(settings, clock) as app:
        tenant = await start(app, settings)
        t = tenant.tenant_id
        await send_metrics(settings, deals(t, 22, "2026-01-20T10:00:00+00:00"))
        await app.wait_consumed(22)
        assert (await status(app, tenant, "new-clients", "2026-Q1"))["breach_id"] is None
        clock.now = datetime(2026, 4, 1, 0, 10, tzinfo=UTC)  # closed, the breach pending
        await app.parts.ticker.tick_once([t], cleanup=False)
        assert (await status(app, tenant, "new-clients", "2026-Q1"))["breach_id"] is None
        clock.now += timedelta(hours=1)  # pending for over an hour: it must open
        await app.parts.ticker.tick_once([t], cleanup=False)
        assert (await status(app, tenant, "new-clients", "2026-Q1"))["breach_id"] is not None
