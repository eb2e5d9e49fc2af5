"""Shadow mode on the real Kafka and Postgres, with real SMTP and Slack stand-ins: a shadow
route sends nothing and lists what it would have sent, while the live route on the same
breach sends; a shadow transition is recorded, never sent; the log keeps its retention."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from kpi_common.db import unit_of_work
from kpi_notifier.handlers import record
from kpi_notifier.planning import plan_opened
from kpi_notifier.repository import Repository

from tests.conftest import Infra
from tests.integration.kpi_notifier.conftest import (
    T0,
    FakeClock,
    Harness,
    auth,
    harness,
    settings_for,
    until,
)
from tests.integration.kpi_notifier.servers import SlackServer, SmtpServer
from tests.support.strategy_events import load

pytestmark = pytest.mark.integration
SHADOW_ROUTE = {"match": {"unit": "sales"}, "notify": ["morgan", "finance-slack"], "mode": "shadow"}


async def shadow_log(h: Harness, **params: Any) -> list[dict[str, Any]]:
    r = await h.api.get("/v1/shadow", params=params, headers=auth(h.keys["admin"]))
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


@pytest.fixture
async def slack() -> AsyncIterator[SlackServer]:
    """Slack without a 429 first: the clock stands still, so no Retry-After would pass."""
    server = SlackServer()
    await server.start()
    yield server
    await server.stop()


async def test_a_shadow_route_sends_nothing_and_lists_what_it_would_have_sent(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer, slack: SlackServer
) -> None:
    doc = load()
    doc["reviews"] = []
    doc["alerts"]["routes"].insert(0, SHADOW_ROUTE)
    environ = {"ACME_SALES_SLACK_WEBHOOK": slack.url("/sales"),
               "ACME_FINANCE_SLACK_WEBHOOK": slack.url("/finance")}  # fmt: skip
    clock = FakeClock(T0)
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    async with harness(infra, unique, settings, clock, environ) as h:
        await h.strategy(doc)
        await h.api_key("admin")
        breach_id = await h.breach("new-clients", "sales", "dana")

        async def live_sent() -> bool:
            rows = await h.rows(breach_id=breach_id)
            return len(rows) == 2 and all(r["status"] == "sent" for r in rows)

        await until(live_sent)
        live = await h.rows()
        entries = await shadow_log(h)
        filtered = {
            "route 0": await shadow_log(h, route=0),
            "route 1": await shadow_log(h, route=1),
            "later": await shadow_log(h, since=(T0 + timedelta(seconds=1)).isoformat()),
            "since": await shadow_log(h, since=T0.isoformat(), breach_id=breach_id),
        }
        await h.breach("new-clients", "sales", "dana", breach_id=breach_id)  # a repeat
        # a marker behind the repeat, on its partition: once it is handled, so is the repeat
        await h.breach("csat", "service", "sam", key_of="new-clients")
        await until(lambda: _has_rows(h, 3))
        after_repeat = await shadow_log(h)
        metrics = (await h.api.get("/metrics")).text

    assert {(r["channel"], r["recipient"]) for r in live if r["breach_id"] == breach_id} == {
        ("email", "dana"),
        ("sales-slack", "sales-slack"),
    }
    assert {str(m["To"]) for m in smtp.messages} <= {"dana@acme.example", "sam@acme.example"}
    assert smtp.to("morgan@acme.example") == []
    assert {r.path for r in slack.requests} == {"/sales"}  # never the shadow's /finance
    assert [(e["recipient"], e["channel"], e["reason"], e["route"]) for e in entries] == [
        ("finance-slack", "finance-slack", "route", 0),
        ("morgan", "email", "route", 0),
    ]
    morgan = entries[1]
    assert morgan["dedup_key"] == f"shadow:route0:{breach_id}:opened:email:morgan"
    assert morgan["kind"] == "breach"
    assert morgan["breach_id"] == breach_id
    assert morgan["subject"] == "Critical: New client acquisitions is off track (2026-Q1)"
    assert morgan["text"].startswith("Hello Morgan Lee,")
    assert morgan["transition"]["kpi_id"] == "new-clients"
    assert morgan["recorded_at"].startswith("2026-02-20T08:00:00")
    assert [len(filtered[k]) for k in ("route 0", "route 1", "later", "since")] == [2, 0, 0, 2]
    assert [e["id"] for e in after_repeat] == [e["id"] for e in entries]  # nothing twice
    assert 'notifier_deliveries_shadowed_total{kind="breach"}' in metrics


async def _has_rows(h: Harness, n: int) -> bool:
    return len(await h.rows()) >= n


async def test_a_shadow_transition_is_recorded_not_sent_and_the_log_is_pruned(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    """The generic rule: any planned delivery whose mode is shadow (here a transition that
    says `mode: "shadow"`, as a shadow burn-rate rule's does) goes to the shadow log."""
    doc = load()
    doc["reviews"] = []
    doc["alerts"]["routes"].insert(0, SHADOW_ROUTE)
    clock = FakeClock(T0)
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp,
                            KPI_NOTIFIER_SHADOW_RETENTION_DAYS=30)  # fmt: skip
    async with harness(infra, unique, settings, clock, {}) as h:
        await h.strategy(doc)
        await h.api_key("admin")
        await until(lambda: _knows_routes(h))
        async with unit_of_work(h.notifier.sessions) as session:
            repo = Repository(session)
            directory = await repo.directory(h.tenant_id)
            breach = _shadow_transition(h.tenant_id)
            await repo.add_breach(breach)
            added = await record(session, h.tenant_id, plan_opened(directory, breach, [], T0), T0)
        before = await shadow_log(h)
        live = await h.rows()
        clock.advance(timedelta(days=31))
        await h.notifier.ticker.tick()  # plans reminder 31 and escalation, prunes the old
        after = await shadow_log(h)

    assert added == 0
    assert live == []
    assert {(e["reason"], e["recipient"]) for e in before} == {
        ("transition", "dana"), ("transition", "sales-slack"),
        ("route", "morgan"), ("route", "finance-slack"),
    }  # fmt: skip
    # the opened ones are past the retention; what the tick planned (reminder 31 of the
    # shadow transition and of the shadow route, the transition's escalation) is new
    assert sorted(e["dedup_key"].rsplit(":", 3)[1] for e in after) == [
        "escalation",
        *["reminder31"] * 4,
    ]
    assert [e["reason"] for e in after if "escalation" in e["dedup_key"]] == ["transition"]


def _shadow_transition(tenant_id: str) -> Any:
    from kpi_notifier.routing import Breach

    from tests.integration.kpi_notifier.conftest import example_breach

    facts = example_breach() | {"breach_id": "brc-burn-1", "mode": "shadow"}
    return Breach(tenant_id, "brc-burn-1", "new-clients", "sales", "dana", "customer",
                  "critical", T0, facts)  # fmt: skip


async def _knows_routes(h: Harness) -> bool:
    async with h.notifier.sessions() as session:
        return len((await Repository(session).directory(h.tenant_id)).routes) == 4
