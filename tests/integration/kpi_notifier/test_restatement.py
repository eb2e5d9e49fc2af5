"""History does not page people, end to end on the real Kafka and Postgres: the evaluator
(in process, its clock in 2026-Q2) reads a backfill of deals into five quarters; its
breaches go through its outbox and kpi.breaches to the notifier (in process, real SMTP and
Slack sinks). The three quarters past the paging horizon make one restatement notice per
route recipient (dana by email, the sales Slack channel); the previous and the current
quarter still page."""

from datetime import UTC, datetime
from typing import Any

import pytest
from kpi_evaluator.config import Settings as EvaluatorSettings

from tests.conftest import Infra
from tests.integration.kpi_evaluator.conftest import (
    Clock,
    Running,
    make_settings,
    publish_strategy,
    running_app,
    send_metrics,
)
from tests.integration.kpi_evaluator.test_breaches import deals
from tests.integration.kpi_notifier.conftest import Harness, auth, harness, settings_for, until
from tests.integration.kpi_notifier.servers import SlackServer, SmtpServer

pytestmark = pytest.mark.integration

QUARTERS = {
    "2025-Q2": "2025-05-01",
    "2025-Q3": "2025-08-01",
    "2025-Q4": "2025-11-01",
    "2026-Q1": "2026-02-01",
    "2026-Q2": "2026-05-01",
}
HISTORY = ("2025-Q2", "2025-Q3", "2025-Q4")


def now() -> datetime:
    return datetime.now(UTC)


async def breach_ids(app: Running, key: str) -> dict[str, str]:
    params = {"from": "2025-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}
    r = await app.client.get("/v1/kpis/new-clients/series", params=params, headers=auth(key))
    assert r.status_code == 200, r.text
    return {p["period"]: p["breach_id"] for p in r.json()["points"] if p["breach_id"]}


async def knows_new_clients(app: Running, tenant_id: str) -> bool:
    """The evaluator knows the KPI (events before it would count nothing yet)."""
    strategy = await app.parts.strategies.get(tenant_id)
    return strategy is not None and "new-clients" in strategy.kpis


async def settled(h: Harness) -> list[dict[str, Any]]:
    """The delivery log once the two restatement notices and the pages went out."""
    rows: list[dict[str, Any]] = []

    async def done() -> bool:
        rows[:] = await h.rows(limit=100)
        notices = [r for r in rows if r["kind"] == "restatement" and r["status"] == "sent"]
        pages = [r for r in rows if r["kind"] == "breach" and r["status"] == "sent"]
        return len(notices) == 2 and len(pages) == 4

    await until(done, 60)
    return rows


async def test_a_backfill_sends_one_restatement_per_route_and_pages_only_recent_quarters(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer, slack: SlackServer
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    ntf = settings_for(
        infra,
        database_url,
        prefix,
        smtp,
        topic_partitions=3,
        KPI_NOTIFIER_RESTATEMENT_WINDOW_S=1.0,
    )
    ev: EvaluatorSettings = make_settings(infra, prefix, database_url=database_url)
    environ = {"ACME_SALES_SLACK_WEBHOOK": slack.url("/sales"), "ACME_FINANCE_SLACK_WEBHOOK": "x"}
    async with (
        harness(infra, unique, ntf, now, environ) as h,
        running_app(ev, Clock(datetime(2026, 5, 10, tzinfo=UTC))) as app,
    ):
        tenant = await publish_strategy(ev, tenant_id=h.tenant_id)
        await h.api_key("admin")
        await until(lambda: knows_new_clients(app, h.tenant_id), 60)
        for day in QUARTERS.values():
            await send_metrics(ev, deals(h.tenant_id, 5, f"{day}T10:00:00+00:00"))
        rows = await settled(h)
        ids = await breach_ids(app, tenant.key)
        recorded = {
            p: (await h.api.get(f"/v1/breaches/{ids[p]}", headers=auth(h.keys["admin"])))
            for p in HISTORY
        }

    assert set(ids) == set(QUARTERS)  # every quarter missed its 50: five breaches opened
    notices = [r for r in rows if r["kind"] == "restatement"]
    assert sorted((r["channel"], r["recipient"]) for r in notices) == [
        ("email", "dana"),
        ("sales-slack", "sales-slack"),
    ]
    assert {r["breach_id"] for r in notices} == {None}
    paged = {r["breach_id"] for r in rows if r["kind"] == "breach"}
    assert paged == {ids["2026-Q1"], ids["2026-Q2"]}  # history pages nobody
    assert {r["kind"] for r in rows} == {"breach", "restatement"}  # no reminder, no escalation
    for period in HISTORY:  # recorded by the notifier all the same
        assert recorded[period].status_code == 200
        assert recorded[period].json()["urgency"] == "restatement"

    restated = [m for m in smtp.messages if str(m["Subject"]).startswith("Restated")]
    assert len(restated) == 1
    assert restated[0]["Subject"] == "Restated by late events: 3 breaches of past KPI periods"
    text = restated[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for period in HISTORY:
        assert f"New client acquisitions (new-clients), {period}: breached, off track" in text
    assert "2026-Q1" not in text
    slack_texts = [r.json()["text"] for r in slack.accepted()]
    assert sum(t.startswith("Restated") for t in slack_texts) == 1
    assert sum(t.startswith("Critical") for t in slack_texts) == 2
