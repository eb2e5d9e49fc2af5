"""metrics.events -> actuals, status and scorecard for the acme example, on the real Kafka and
Postgres, with values computed by hand. The clock is injected: 2026-02-15T00:00Z is half way
through 2026-Q1 (45 of 90 days)."""

import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest
from kpi_evaluator.config import Settings
from sqlalchemy import text

from tests.conftest import Infra
from tests.integration.kpi_evaluator.conftest import (
    Clock,
    Running,
    Tenant,
    make_settings,
    metric,
    publish_strategy,
    running_app,
    send_metrics,
    wait_until,
)
from tests.support import strategy_events

NOW = datetime(2026, 2, 15, tzinfo=UTC)


def acme_with_min_and_max() -> dict[str, Any]:
    """The acme document plus two KPIs that use min and max (acme has none)."""
    doc = strategy_events.load()
    base = {
        "unit": "finance",
        "owner": "priya",
        "so_that": "invoices-paid-on-time",
        "period": "quarter",
        "unit_of_measure": "days",
    }
    doc["kpis"] += [
        {
            **base,
            "id": "fastest-payment",
            "title": "Fastest payment",
            "direction": "decrease",
            "target": 10,
            "measure": {"metric": "erp.invoice.paid", "aggregation": "min", "field": "days_to_pay"},
        },
        {
            **base,
            "id": "slowest-payment",
            "title": "Slowest payment",
            "direction": "decrease",
            "target": 60,
            "measure": {"metric": "erp.invoice.paid", "aggregation": "max", "field": "days_to_pay"},
        },
    ]
    return doc


def q1_events(t: str) -> list[Any]:
    ev = []
    # new-clients: count where new_customer=true -> 23 in Q1 (the false ones and the
    # December one do not count)
    ev += [
        metric(t, "crm.deal.won", 1, f"2026-01-{d:02d}T10:00:00+00:00", {"new_customer": True})
        for d in range(1, 24)
    ]
    ev += [metric(t, "crm.deal.won", 1, "2026-01-05T10:00:00+00:00", {"new_customer": False})]
    ev += [metric(t, "crm.deal.won", 1, "2025-12-31T10:00:00+00:00", {"new_customer": True})]
    # revenue: sum 350; EMEA 300; Americas 50
    ev += [
        metric(t, "erp.invoice.posted", 100, "2026-01-10T00:00:00+00:00", {"region": "emea"}),
        metric(t, "erp.invoice.posted", 200, "2026-02-01T00:00:00+00:00", {"region": "emea"}),
        metric(t, "erp.invoice.posted", 50, "2026-02-02T00:00:00+00:00", {"region": "amer"}),
    ]
    # ar-days: avg of days_to_pay 40, 30, 35 = 35; min 30; max 40
    ev += [
        metric(t, "erp.invoice.paid", 1, f"2026-01-{d}T00:00:00+00:00", {"days_to_pay": v})
        for d, v in ((11, 40), (12, 30), (13, 35))
    ]
    # operating costs: 70 -> profit margin (350 - 70) / 350 = 0.8
    ev += [metric(t, "erp.expense.posted", 70, "2026-01-15T00:00:00+00:00")]
    # churn-rate: 2 churned / last active by event time (80 on Feb 1, sent before Jan 20)
    ev += [
        metric(t, "crm.customer.churned", 1, "2026-01-03T00:00:00+00:00"),
        metric(t, "crm.customer.churned", 1, "2026-02-03T00:00:00+00:00"),
        metric(t, "crm.customer.active", 100, "2026-01-10T00:00:00+00:00"),
        metric(t, "crm.customer.active", 80, "2026-02-01T00:00:00+00:00"),
        metric(t, "crm.customer.active", 120, "2026-01-20T00:00:00+00:00"),
    ]
    # qualified-leads: per-period targets, 95 in Q1 (target 200), 1 in Q2 (target 150)
    ev += [metric(t, "crm.lead.qualified", 1, "2026-01-20T00:00:00+00:00") for _ in range(95)]
    ev += [metric(t, "crm.lead.qualified", 1, "2026-04-20T00:00:00+00:00")]
    return ev


async def status(app: Running, tenant: Tenant, kpi: str, period: str) -> dict[str, Any]:
    resp = await app.client.get(
        f"/v1/kpis/{kpi}/status", params={"period": period}, headers=tenant.auth
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def start(app: Running, settings: Settings, doc: dict[str, Any] | None = None) -> Tenant:
    """Publish the strategy and wait until all of it (organization included) is known."""
    doc = doc or strategy_events.load()
    tenant = await publish_strategy(settings, doc)
    organization = strategy_events.definitions(doc)[("organization", "organization")]

    async def known() -> bool:
        r = await app.client.get("/v1/kpis/revenue/status", headers=tenant.auth)
        strategy = await app.parts.strategies.get(tenant.tenant_id)
        complete = strategy is not None and len(strategy.kpis) == len(doc["kpis"])
        return bool(
            r.status_code == 200
            and complete
            and strategy is not None
            and strategy.node("organization", "organization") == organization
        )

    await wait_until(known)
    return tenant


async def test_each_aggregation_target_form_and_direction(settings: Settings) -> None:
    async with running_app(settings, Clock(NOW)) as app:
        tenant = await start(app, settings, acme_with_min_and_max())
        events = q1_events(tenant.tenant_id)
        await send_metrics(settings, events)
        await app.wait_consumed(len(events))

        clients = await status(app, tenant, "new-clients", "2026-Q1")
        # count 23, expected 50 * 45/90 = 25, p = 0.92 -> at_risk (at_risk_below 0.9)
        assert (clients["actual"], clients["expected"], clients["status"]) == (23, 25, "at_risk")
        assert clients["score"] == 0.92
        # forecast: 23 + 45 days left at the mean of the pace (23 / 45 a day) and the last
        # 6 days' rate (none since Jan 23): 23 + 45 * (23 / 45) / 2 = 34.5
        assert clients["forecast"] == 34.5
        revenue = await status(app, tenant, "revenue", "2026")
        assert (revenue["actual"], revenue["target"]) == (350, 12_000_000)  # increase_by 20%
        assert (await status(app, tenant, "revenue-emea", "2026"))["actual"] == 300
        assert (await status(app, tenant, "revenue-amer", "2026"))["actual"] == 50
        ar = await status(app, tenant, "ar-days", "2026-Q1")
        # avg 35 against 30, decrease: expected is the target, p = 30/35 = 0.857 -> off_track
        assert (ar["actual"], ar["expected"], ar["status"]) == (35, 30, "off_track")
        assert (await status(app, tenant, "fastest-payment", "2026-Q1"))["actual"] == 30
        assert (await status(app, tenant, "slowest-payment", "2026-Q1"))["actual"] == 40
        churn = await status(app, tenant, "churn-rate", "2026-Q1")
        # 2 lost of 80 half way through the quarter: 2/80 = 0.025 to date; the lost ones at
        # their pace make 4 -> 0.05 against 0.05 decreased by 10% = 0.045:
        # p = 0.045/0.05 = 0.9 -> at_risk (judged as a level, 0.025 looked on track)
        assert churn["actual"] == 2 / 80
        assert abs(churn["target"] - 0.045) < 1e-12
        assert abs(churn["forecast"] - 0.05) < 1e-12
        assert churn["status"] == "at_risk"
        leads_q1 = await status(app, tenant, "qualified-leads", "2026-Q1")
        # 95 against 200 * 0.5 = 100: p = 0.95 -> at_risk
        assert (leads_q1["actual"], leads_q1["target"], leads_q1["status"]) == (95, 200, "at_risk")
        leads_q2 = await status(app, tenant, "qualified-leads", "2026-Q2")
        assert (leads_q2["actual"], leads_q2["target"]) == (1, 150)
        margin = await status(app, tenant, "profit-margin", "2026")
        assert margin["actual"] == (350 - 70) / 350
        assert margin["status"] == "on_track"
        await check_scorecard_and_series(app, tenant)
        await check_grafana_views(app, tenant)
        scrape = (await app.client.get("/metrics")).text
        assert _gauge(scrape, 'evaluator_kpis{status="off_track"}') >= 1  # ar-days
        assert _gauge(scrape, 'evaluator_kpis{status="at_risk"}') >= 2  # new-clients, leads
        assert _gauge(scrape, "evaluator_breaches_open") >= 1
        assert _gauge(scrape, "evaluator_events_processed_total") >= len(events)
        assert 'evaluator_kpi_score_ratio{perspective="customer"}' in scrape


async def check_scorecard_and_series(app: Running, tenant: Tenant) -> None:
    resp = await app.client.get(
        "/v1/scorecard", params={"unit": "sales", "period": "2026-Q1"}, headers=tenant.auth
    )
    assert resp.status_code == 200, resp.text
    card = resp.json()
    kpis = {k["id"]: k for k in card["kpis"]}
    assert sorted(kpis) == ["new-clients", "revenue-amer", "revenue-emea"]
    assert (kpis["new-clients"]["actual"], kpis["new-clients"]["status"]) == (23, "at_risk")
    # revenue-emea 300 of 7M at 45/365 of the year: p = 300 / 863013.7 -> score 0.000347...
    assert kpis["revenue-emea"]["score"] == pytest.approx(300 / (7_000_000 * 45 / 365))
    pipeline = next(g for g in card["goals"] if g["id"] == "grow-revenue")
    assert pipeline["score"] is not None
    resp = await app.client.get(
        "/v1/kpis/qualified-leads/series",
        params={"from": "2026-01-01T00:00:00Z", "to": "2026-07-01T00:00:00Z"},
        headers=tenant.auth,
    )
    points = [(p["period"], p["actual"], p["target"]) for p in resp.json()["points"]]
    assert points == [("2026-Q1", 95, 200), ("2026-Q2", 1, 150)]
    other = await app.client.get("/v1/kpis/nope/status", headers=tenant.auth)
    assert other.status_code == 404
    assert (await app.client.get("/v1/scorecard")).status_code == 401


SERIES_VIEW = [
    ("2025-Q4", None, None, "no_data"),  # the period before the current one, by the tick
    ("2026-Q1", 95, 200, "at_risk"),
    ("2026-Q2", 1, 150, "on_track"),  # not started yet: nothing expected so far
]


async def check_grafana_views(app: Running, tenant: Tenant) -> None:
    async def series() -> list[tuple[Any, ...]]:
        async with app.parts.runtime.engine.connect() as conn:
            rows = await conn.execute(
                text("""SELECT period_key, actual, target, status FROM evaluator.v_kpi_series
                        WHERE tenant_id = :t AND kpi_id = 'qualified-leads' ORDER BY time"""),
                {"t": tenant.tenant_id},
            )
            return [tuple(r) for r in rows]

    async def complete() -> bool:  # the tick writes the earlier period on its next run
        return await series() == SERIES_VIEW

    with contextlib.suppress(TimeoutError):
        await wait_until(complete, 30)
    assert await series() == SERIES_VIEW
    async with app.parts.runtime.engine.connect() as conn:
        current = await conn.execute(text("SELECT * FROM evaluator.v_kpi_status LIMIT 0"))
        assert {"title", "unit", "perspective", "status", "score", "breached"} <= set(
            current.keys()
        )


def _gauge(scrape: str, name: str) -> float:
    line = next(x for x in scrape.splitlines() if x.startswith(name + " "))
    return float(line.split()[-1])


async def test_an_event_id_counts_once_ever(settings: Settings) -> None:
    async with running_app(settings, Clock(NOW)) as app:
        tenant = await start(app, settings)
        t = tenant.tenant_id
        first = [
            metric(t, "erp.invoice.posted", 100, "2026-01-10T00:00:00+00:00", None, "inv-1"),
            metric(t, "erp.invoice.posted", 100, "2026-01-10T00:00:00+00:00", None, "inv-1"),
            metric(t, "erp.invoice.posted", 7, "2026-01-11T00:00:00+00:00", None, "inv-2"),
        ]
        await send_metrics(settings, first)
        await app.wait_consumed(3)
        await send_metrics(settings, [first[0]])
        await app.wait_consumed(4)
        assert (await status(app, tenant, "revenue", "2026"))["actual"] == 107


async def test_replaying_metrics_events_rebuilds_the_same_actuals(
    infra: Infra, settings: Settings
) -> None:
    async with running_app(settings, Clock(NOW)) as app:
        tenant = await start(app, settings, acme_with_min_and_max())
        events = q1_events(tenant.tenant_id)
        await send_metrics(settings, events)
        await app.wait_consumed(len(events))
        before: dict[str, Any] = {}

        async def evaluated() -> bool:
            before.update({k: (await status(app, tenant, k, "2026-Q1"))["actual"] for k in REBUILT})
            return None not in before.values()

        await wait_until(evaluated, 30)
        async with app.parts.runtime.engine.begin() as conn:
            for table in ("buckets", "kpi_seen", "events", "kpi_status"):
                await conn.execute(
                    text(f"DELETE FROM evaluator.{table} WHERE tenant_id = :t"),
                    {"t": tenant.tenant_id},
                )
    # a new consumer group has no stored offsets: metrics.events is read from the start
    replay = make_settings(infra, settings.topic_prefix, group_id="evaluator-rebuild")
    async with running_app(replay, Clock(NOW)) as app:
        await app.wait_consumed(len(events))
        after: dict[str, Any] = {}

        async def rebuilt() -> bool:  # each KPI's status follows its batch's commit
            after.update({k: (await status(app, tenant, k, "2026-Q1"))["actual"] for k in REBUILT})
            return after == before

        with contextlib.suppress(TimeoutError):
            await wait_until(rebuilt, 30)
    assert after == before
    assert before["new-clients"] == 23


REBUILT = ("new-clients", "revenue", "ar-days", "churn-rate", "profit-margin", "slowest-payment")
