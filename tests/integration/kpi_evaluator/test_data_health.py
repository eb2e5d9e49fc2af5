"""GET /v1/data-health on the real Kafka and Postgres: a mistyped metric is reported with
the nearest KPI metric name and goes away once a KPI measures it (whose recompute then
counts its events); a KPI without data in its period; a metric gone quiet."""

import copy
from datetime import UTC, datetime
from typing import Any

from kpi_evaluator.config import Settings
from rich.console import Console

from demo import report
from tests.conftest import Infra
from tests.integration.kpi_evaluator.conftest import (
    Clock,
    Running,
    Tenant,
    make_settings,
    metric,
    running_app,
    send_metrics,
)
from tests.integration.kpi_evaluator.test_pipeline import start, status
from tests.integration.kpi_evaluator.test_recompute import publish_revision, wait_job
from tests.support import strategy_events

NOW = datetime(2026, 2, 15, tzinfo=UTC)


async def health(app: Running, tenant: Tenant) -> dict[str, Any]:
    resp = await app.client.get("/v1/data-health", headers=tenant.auth)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def findings(body: dict[str, Any], rule: str) -> dict[str, dict[str, Any]]:
    return {f["node_id"]: f for f in body["findings"] if f["rule"] == rule}


def deals(t: str, name: str, n: int, at: str) -> list[Any]:
    return [metric(t, name, 1, at, {"new_customer": True}) for _ in range(n)]


def with_typo_kpi(doc: dict[str, Any]) -> dict[str, Any]:
    """acme plus a KPI that measures the mistyped name (as a user would, to count them)."""
    out = copy.deepcopy(doc)
    clients = next(k for k in out["kpis"] if k["id"] == "new-clients")
    typo = {**copy.deepcopy(clients), "id": "typo-deals", "title": "Deals sent as crm.dela.won"}
    typo["measure"] = {"metric": "crm.dela.won", "aggregation": "count"}
    out["kpis"].append(typo)
    return out


async def test_a_mistyped_metric_is_reported_until_a_kpi_measures_it(
    settings: Settings,
) -> None:
    acme = strategy_events.load()
    async with running_app(settings, Clock(NOW)) as app:
        tenant = await start(app, settings, acme)
        t = tenant.tenant_id
        events = [
            *deals(t, "crm.dela.won", 3, "2026-02-10T09:00:00+00:00"),
            *deals(t, "crm.dela.won", 1, "2026-02-11T09:30:00+00:00"),
            *deals(t, "crm.deal.won", 2, "2026-02-10T09:00:00+00:00"),
        ]
        await send_metrics(settings, events)
        await app.wait_consumed(len(events))

        body = await health(app, tenant)
        unmatched = findings(body, "unmatched_metric")
        assert list(unmatched) == ["crm.dela.won"]  # crm.deal.won has its KPI
        typo = unmatched["crm.dela.won"]
        assert (typo["severity"], typo["node_type"], typo["metric"]) == (
            "warning",
            "metric",
            "crm.dela.won",
        )
        assert typo["events"] == 4
        assert typo["first_received_at"] == "2026-02-10T09:00:00Z"
        assert typo["last_received_at"] == "2026-02-11T09:30:00Z"
        assert typo["nearest"][0] == "crm.deal.won"
        assert "nearest KPI metric: crm.deal.won" in typo["explanation"]
        assert "If the sender meant crm.deal.won" in typo["suggested_fix"]
        assert body["counts"]["warning"] == len(body["findings"])
        assert {r["id"] for r in body["rules"]} == {
            "unmatched_metric",
            "kpi_without_data",
            "stale_metric",
        }

        await publish_revision(settings, tenant, with_typo_kpi(acme), 2)
        job = await wait_job(app, tenant, ["typo-deals"])
        assert job["events_total"] == 4
        assert (await status(app, tenant, "typo-deals", "2026-Q1"))["actual"] == 4
        assert findings(await health(app, tenant), "unmatched_metric") == {}
        assert (await app.client.get("/v1/data-health")).status_code == 401


async def test_a_kpi_without_data_and_a_metric_gone_quiet(infra: Infra, settings: Settings) -> None:
    clock = Clock(NOW)
    day = make_settings(infra, settings.topic_prefix, stale_after_s=86_400)
    async with running_app(day, clock) as app:
        tenant = await start(app, day)
        events = deals(tenant.tenant_id, "crm.deal.won", 5, "2026-02-14T12:00:00+00:00")
        await send_metrics(day, events)
        await app.wait_consumed(len(events))

        body = await health(app, tenant)
        empty = findings(body, "kpi_without_data")
        assert "new-clients" not in empty
        engagement = empty["engagement"]
        assert engagement["node_type"] == "kpi"
        assert engagement["explanation"] == (
            "KPI engagement has no data in its period 2026-Q1: "
            "metric survey.engagement never arrived."
        )
        assert "survey.engagement" in engagement["suggested_fix"]
        assert findings(body, "stale_metric") == {}
        assert body["stale_after_s"] == 86_400

        clock.now = datetime(2026, 2, 16, 13, tzinfo=UTC)  # 25 h after the last event
        quiet = findings(await health(app, tenant), "stale_metric")
        assert list(quiet) == ["crm.deal.won"]
        assert quiet["crm.deal.won"]["kpis"] == ["new-clients"]
        assert quiet["crm.deal.won"]["last_received_at"] == "2026-02-14T12:00:00Z"
        assert "more than 24 h ago" in quiet["crm.deal.won"]["explanation"]


async def test_the_demo_prints_the_evaluators_answer(infra: Infra, settings: Settings) -> None:
    """`make demo`'s findings table (demo/report.py) rendered from the real evaluator's
    answer, for the demo's plants: a mistyped metric, a survey never sent, a feed stopped."""
    two_days = make_settings(infra, settings.topic_prefix, stale_after_s=172_800)
    async with running_app(two_days, Clock(datetime(2026, 3, 27, 12, tzinfo=UTC))) as app:
        tenant = await start(app, two_days)
        t = tenant.tenant_id
        typos = [
            metric(t, e["metric"], e["value"], e["time"].replace("Z", "+00:00"), e["dimensions"])
            for e in report.MISTYPED
        ]
        web = [metric(t, "web.session", 1, "2026-03-23T10:00:00+00:00", {"bounced": False})]
        await send_metrics(two_days, [*typos, *web])
        await app.wait_consumed(len(typos) + len(web))
        console = Console(record=True, width=400)
        report.alignment(console, {"findings": []}, await health(app, tenant))

    rows = console.export_text().splitlines()

    def row(node: str) -> str:
        [line] = [r for r in rows if f"│ {node} " in r]
        return line

    assert "nearest KPI metric: crm.deal.won" in row("metric crm.dela.won")
    assert "a mistyped metric" in row("metric crm.dela.won")
    assert "no survey sent" in row("kpi engagement")
    assert "web feed stopped" in row("metric web.session")
    assert "stale_metric" in row("metric web.session")
