"""Restatements on the real Kafka and Postgres: a late event into a closed quarter keeps a
revision (old, new, when, why) shown by the series API and `kpi kpi-status --history`;
events backfilled into quarters past the paging horizon open breaches that are recorded
but published as restatements of one run, while the current and previous quarter page; the
same holds for the breaches a recompute opens (one run per job)."""

from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import httpx
from kpi_cli.evaluator import history
from kpi_common.topic_reads import read_topic
from kpi_common.topics import KPI_BREACHES
from kpi_evaluator.config import Settings
from rich.console import Console

from tests.integration.kpi_evaluator.conftest import (
    Clock,
    Running,
    Tenant,
    running_app,
    send_metrics,
    wait_until,
)
from tests.integration.kpi_evaluator.test_breaches import deals
from tests.integration.kpi_evaluator.test_pipeline import start
from tests.integration.kpi_evaluator.test_recompute import publish_revision, wait_job, without
from tests.support import strategy_events


async def series(app: Running, tenant: Tenant, kpi: str) -> dict[str, dict[str, Any]]:
    params = {"from": "2025-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}
    r = await app.client.get(f"/v1/kpis/{kpi}/series", params=params, headers=tenant.auth)
    assert r.status_code == 200, r.text
    return {p["period"]: p for p in r.json()["points"]}


async def many_series(
    app: Running, tenant: Tenant, kpis: list[str]
) -> tuple[httpx.Response, list[Any], httpx.Response]:
    """`GET /v1/series` of `kpis` (the first asked twice), the same KPIs one by one, and
    `GET /v1/series` with a KPI the strategy does not have."""
    window = {"from": "2025-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}
    get, auth = app.client.get, tenant.auth
    many = await get("/v1/series", params={**window, "kpi": [*kpis, kpis[0]]}, headers=auth)
    singles = [await get(f"/v1/kpis/{k}/series", params=window, headers=auth) for k in kpis]
    unknown_ids = [kpis[0], "no-such-kpi"]
    unknown = await get("/v1/series", params={**window, "kpi": unknown_ids}, headers=auth)
    return many, [r.json() for r in singles], unknown


def printed(table: Any) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


async def test_a_late_event_into_a_closed_quarter_keeps_a_revision(settings: Settings) -> None:
    clock = Clock(datetime(2026, 2, 15, tzinfo=UTC))
    async with running_app(settings, clock) as app:
        tenant = await start(app, settings)
        t = tenant.tenant_id
        await send_metrics(settings, deals(t, 22, "2026-01-20T10:00:00+00:00"))
        await app.wait_consumed(22)
        await send_metrics(settings, deals(t, 3, "2026-02-01T10:00:00+00:00"))
        await app.wait_consumed(25)
        clock.now = datetime(2026, 4, 15, tzinfo=UTC)
        await app.parts.ticker.tick_once([t])  # the close changes the status, not the actual
        assert (await series(app, tenant, "new-clients"))["2026-Q1"]["revisions"] == []
        await send_metrics(settings, deals(t, 25, "2026-03-30T10:00:00+00:00"))
        await app.wait_consumed(50)
        points = await series(app, tenant, "new-clients")
        many, one_by_one, unknown = await many_series(app, tenant, ["new-clients", "csat"])

    assert many.json() == {"kpis": one_by_one}  # the same answers, revisions included
    assert unknown.status_code == 404
    assert "no-such-kpi" in unknown.json()["error"]["message"]
    q1 = points["2026-Q1"]
    assert (q1["actual"], q1["status"]) == (50, "achieved")
    revisions = q1["revisions"]
    assert revisions, "the restated quarter kept no revision"
    # one revision per consumer batch that changed it: a chain from 25 to 50
    assert (revisions[0]["old"], revisions[-1]["new"]) == (25, 50)
    assert all(a["new"] == b["old"] for a, b in pairwise(revisions))
    assert {r["reason"] for r in revisions} == {"late_events"}
    assert {datetime.fromisoformat(r["at"]) for r in revisions} == {clock.now}
    assert points["2026-Q2"]["revisions"] == []
    text = printed(history("new-clients", list(points.values())))
    assert "2026-Q1" in text
    assert "late events" in text
    assert "2026-04-15" in text
    assert "2026-Q2" not in text  # periods never restated show no row


async def breach_events(settings: Settings, tenant_id: str, n: int) -> list[Any]:
    topic = f"{settings.topic_prefix}{KPI_BREACHES.name}"
    found: list[Any] = []

    async def arrived() -> bool:
        envs = await read_topic(settings.kafka_bootstrap, topic)
        found[:] = [e for e in envs if e.tenant_id == tenant_id]
        return len(found) >= n

    await wait_until(arrived)
    return found


async def test_a_backfill_past_the_horizon_is_recorded_as_one_restatement(
    settings: Settings,
) -> None:
    clock = Clock(datetime(2026, 5, 10, tzinfo=UTC))  # 2026-Q2; 2026-Q1 is the previous
    quarters = ["2025-05-01", "2025-08-01", "2025-11-01", "2026-02-01", "2026-05-01"]
    async with running_app(settings, clock) as app:
        tenant = await start(app, settings)
        t = tenant.tenant_id
        for day in quarters:
            await send_metrics(settings, deals(t, 5, f"{day}T10:00:00+00:00"))
        await app.wait_consumed(25)
        points = await series(app, tenant, "new-clients")
        events = await breach_events(settings, t, 5)

    by_period = {e.data["period"]: e.data for e in events}
    assert len(events) == 5
    assert all(e.type == "kpi.breach.opened" for e in events)
    history_ = [by_period[p] for p in ("2025-Q2", "2025-Q3", "2025-Q4")]
    assert {d["urgency"] for d in history_} == {"restatement"}
    assert {d["restatement_reason"] for d in history_} == {"late_events"}
    assert len({d["restatement_id"] for d in history_}) == 1  # one run: one clock, one tenant
    for page in (by_period["2026-Q1"], by_period["2026-Q2"]):
        assert (page["urgency"], page["restatement_id"], page["severity"]) == (
            "page",
            None,
            "critical",
        )
    # recorded and shown like any breach
    for period, data in by_period.items():
        assert points[period]["breach_id"] == data["breach_id"]
        assert points[period]["status"] == "off_track"


async def test_a_recompute_past_the_horizon_is_recorded_as_one_restatement(
    settings: Settings,
) -> None:
    """The same quarters, streamed before the KPI existed: the recompute that adding it
    causes opens their breaches, and those past the horizon are one restatement run, named
    after the job; the current and the previous quarter still page."""
    clock = Clock(datetime(2026, 5, 10, tzinfo=UTC))
    quarters = ["2025-05-01", "2025-08-01", "2025-11-01", "2026-02-01", "2026-05-01"]
    acme = strategy_events.load()
    async with running_app(settings, clock) as app:
        tenant = await start(app, settings, without(acme, "new-clients"))
        t = tenant.tenant_id
        for day in quarters:
            await send_metrics(settings, deals(t, 5, f"{day}T10:00:00+00:00"))
        await app.wait_consumed(25)
        await publish_revision(settings, tenant, acme, 2)
        job = await wait_job(app, tenant, ["new-clients"])
        events = await breach_events(settings, t, 5)

    assert job["reason"] == "new_kpi"
    by_period = {e.data["period"]: e.data for e in events if e.data["kpi_id"] == "new-clients"}
    assert sorted(by_period) == ["2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
    for period in ("2025-Q2", "2025-Q3", "2025-Q4"):
        data = by_period[period]
        assert (data["urgency"], data["restatement_id"], data["restatement_reason"]) == (
            "restatement",
            f"recompute-{job['id']}",
            "definition_change",
        )
    for period in ("2026-Q1", "2026-Q2"):
        assert (by_period[period]["urgency"], by_period[period]["severity"]) == (
            "page",
            "critical",
        )
