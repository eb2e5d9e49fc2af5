"""Period closes, late events restating a closed period, breaches and status changes through
the outbox onto the real Kafka, staleness, and fiscal quarters in a non-UTC time zone."""

from datetime import UTC, datetime
from typing import Any

from kpi_common.topic_reads import read_topic
from kpi_common.topics import GOALS_CHANGES, KPI_BREACHES, KPI_STATUS
from kpi_evaluator.config import Settings

from tests.conftest import Infra
from tests.integration.kpi_evaluator.conftest import (
    Clock,
    make_settings,
    metric,
    running_app,
    send,
    send_metrics,
    wait_until,
)
from tests.integration.kpi_evaluator.test_pipeline import start, status
from tests.support import strategy_events


def deals(tenant: str, n: int, at: str) -> list[Any]:
    return [metric(tenant, "crm.deal.won", 1, at, {"new_customer": True}) for _ in range(n)]


async def test_a_late_event_restates_a_closed_quarter_and_resolves_its_breach(
    settings: Settings,
) -> None:
    clock = Clock(datetime(2026, 2, 15, tzinfo=UTC))
    async with running_app(settings, clock) as app:
        tenant = await start(app, settings)
        t = tenant.tenant_id
        await send_metrics(settings, deals(t, 22, "2026-01-20T10:00:00+00:00"))
        await app.wait_consumed(22)
        # 22 against 25 expected: p = 0.88 -> off_track, a breach opens
        assert (await status(app, tenant, "new-clients", "2026-Q1"))["status"] == "off_track"
        clock.now = datetime(2026, 4, 15, tzinfo=UTC)
        await app.parts.ticker.tick_once([t])
        closed = await status(app, tenant, "new-clients", "2026-Q1")
        assert (closed["actual"], closed["expected"], closed["status"]) == (22, 50, "off_track")
        assert closed["score"] == 22 / 50
        # 28 late deals of 2026-03-30 restate the closed quarter: 50 of 50 -> achieved
        await send_metrics(settings, deals(t, 28, "2026-03-30T10:00:00+00:00"))
        await app.wait_consumed(50)
        restated = await status(app, tenant, "new-clients", "2026-Q1")
        assert (restated["actual"], restated["status"], restated["score"]) == (50, "achieved", 1)

        async def breach_events() -> list[Any]:
            envs = await read_topic(
                settings.kafka_bootstrap, f"{settings.topic_prefix}{KPI_BREACHES.name}"
            )
            return [e for e in envs if e.tenant_id == t]

        async def both() -> bool:
            return len(await breach_events()) == 2

        await wait_until(both)
        opened, resolved = await breach_events()
        assert (opened.type, resolved.type) == ("kpi.breach.opened", "kpi.breach.resolved")
        assert opened.data["breach_id"] == resolved.data["breach_id"]
        assert opened.data["period"] == "2026-Q1"
        assert (opened.data["actual"], opened.data["target"], opened.data["expected"]) == (
            22,
            50,
            25,
        )
        assert opened.data["forecast"] == 33  # 22 + 45 days * (22 / 45 + 0) / 2
        assert (opened.data["owner"], opened.data["unit_id"]) == ("dana", "sales")
        assert (opened.data["perspective"], opened.data["unit_of_measure"]) == (
            "customer",
            "clients",
        )
        assert [(c["node_type"], c["node_id"]) for c in opened.data["so_that_chain"]] == [
            ("success_factor", "strong-pipeline"),
            ("objective", "win-new-clients"),
            ("goal", "grow-revenue"),
        ]
        assert resolved.data["actual"] == 50
        statuses = await read_topic(
            settings.kafka_bootstrap, f"{settings.topic_prefix}{KPI_STATUS.name}"
        )
        q1 = [
            e.data["status"]
            for e in statuses
            if e.tenant_id == t
            and e.data["kpi_id"] == "new-clients"
            and e.data["period"] == "2026-Q1"
        ]
        assert q1[-1] == "achieved"
        assert "off_track" in q1


async def test_a_kpi_whose_metric_stopped_arriving_turns_stale_on_the_tick(
    infra: Infra, settings: Settings
) -> None:
    clock = Clock(datetime(2026, 2, 15, tzinfo=UTC))
    fresh = make_settings(infra, settings.topic_prefix, stale_after_s=86_400)
    async with running_app(fresh, clock) as app:
        tenant = await start(app, fresh)
        await send_metrics(fresh, deals(tenant.tenant_id, 25, "2026-02-14T12:00:00+00:00"))
        await app.wait_consumed(25)
        assert (await status(app, tenant, "new-clients", "2026-Q1"))["status"] == "on_track"
        clock.now = datetime(2026, 2, 16, 13, tzinfo=UTC)  # 49 h after the last event
        await app.parts.ticker.tick_once([tenant.tenant_id])
        stale = await status(app, tenant, "new-clients", "2026-Q1")
        assert (stale["status"], stale["score"], stale["actual"]) == ("stale", None, 25)


async def test_fiscal_quarters_in_new_york_with_an_april_year(settings: Settings) -> None:
    doc = strategy_events.load()
    doc["organization"] = {
        **doc["organization"],
        "timezone": "America/New_York",
        "fiscal_year_start": "04-01",
    }
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    async with running_app(settings, clock) as app:
        tenant = await start(app, settings, doc)
        t = tenant.tenant_id
        # 03:30Z is still March 31 in New York (UTC-4): fiscal 2025-Q4; 04:30Z is fiscal 2026-Q1
        events = [
            *deals(t, 1, "2026-04-01T03:30:00+00:00"),
            *deals(t, 2, "2026-04-01T04:30:00+00:00"),
            metric(t, "erp.invoice.posted", 5, "2026-04-01T03:30:00+00:00", {"region": "emea"}),
            metric(t, "erp.invoice.posted", 7, "2026-04-01T04:30:00+00:00", {"region": "emea"}),
        ]
        await send_metrics(settings, events)
        await app.wait_consumed(len(events))
        q4 = await status(app, tenant, "new-clients", "2025-Q4")
        q1 = await status(app, tenant, "new-clients", "2026-Q1")
        assert (q4["period"], q4["actual"], q1["period"], q1["actual"]) == (
            "2025-Q4",
            1,
            "2026-Q1",
            2,
        )
        assert q1["period_start"].startswith("2026-04-01T04:00:00")
        assert (await status(app, tenant, "revenue", "2025"))["actual"] == 5
        assert (await status(app, tenant, "revenue", "2026"))["actual"] == 7


async def test_a_new_target_is_applied_without_waiting_for_events_or_the_tick(
    settings: Settings,
) -> None:
    clock = Clock(datetime(2026, 2, 15, tzinfo=UTC))
    async with running_app(settings, clock) as app:
        tenant = await start(app, settings)
        await send_metrics(settings, deals(tenant.tenant_id, 23, "2026-01-20T10:00:00+00:00"))
        await app.wait_consumed(23)
        assert (await status(app, tenant, "new-clients", "2026-Q1"))["status"] == "at_risk"
        lowered = strategy_events.load()
        lowered["kpis"][3]["target"] = 46  # expected 23 half way: on pace
        events = strategy_events.events(tenant.tenant_id, lowered, revision=2)
        await send(settings, GOALS_CHANGES.name, [(f"{tenant.tenant_id}:kpi", e) for e in events])

        async def on_pace() -> bool:
            row = await status(app, tenant, "new-clients", "2026-Q1")
            return bool(row["target"] == 46 and row["status"] == "on_track")

        await wait_until(on_pace)


async def test_breaches_on_at_risk_when_configured(infra: Infra, settings: Settings) -> None:
    clock = Clock(datetime(2026, 2, 15, tzinfo=UTC))
    strict = make_settings(infra, settings.topic_prefix, breach_on="at_risk")
    async with running_app(strict, clock) as app:
        tenant = await start(app, strict)
        # 23 against 25 expected: p = 0.92 -> at_risk, which now opens a warning breach
        await send_metrics(strict, deals(tenant.tenant_id, 23, "2026-01-20T10:00:00+00:00"))
        await app.wait_consumed(23)
        row = await status(app, tenant, "new-clients", "2026-Q1")
        assert (row["status"], row["breach_id"] is not None) == ("at_risk", True)
        topic = f"{strict.topic_prefix}{KPI_BREACHES.name}"

        async def opened() -> list[Any]:
            envs = await read_topic(strict.kafka_bootstrap, topic)
            return [e for e in envs if e.tenant_id == tenant.tenant_id]

        async def one() -> bool:
            return len(await opened()) == 1

        await wait_until(one)
        (event,) = await opened()
        assert (event.data["severity"], event.data["status"]) == ("warning", "at_risk")
        assert event.data["breach_id"] == row["breach_id"]
