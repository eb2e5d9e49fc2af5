"""A breach reaches the owner by email (real SMTP server) and the unit's Slack channel (a
real local HTTP server that answers 429 with Retry-After once), exactly once each, and
`notification.sent` is published for both."""

from datetime import UTC, datetime

import pytest
from kpi_common.topics import DEAD_LETTER, KPI_BREACHES, NOTIFICATIONS_SENT

from tests.conftest import Infra
from tests.integration.kpi_common.test_kafka import _read_all
from tests.integration.kpi_notifier.conftest import harness, settings_for, until
from tests.integration.kpi_notifier.servers import SlackServer, SmtpServer

pytestmark = pytest.mark.integration


def now() -> datetime:
    return datetime.now(UTC)


async def test_a_breach_reaches_email_and_slack_once_each(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer, slack: SlackServer
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    environ = {"ACME_SALES_SLACK_WEBHOOK": slack.url("/sales"), "ACME_FINANCE_SLACK_WEBHOOK": "x"}
    async with harness(
        infra, unique, settings_for(infra, database_url, prefix, smtp), now, environ
    ) as h:
        await h.strategy()
        await h.api_key("admin")
        breach_id = await h.breach("new-clients", "sales", "dana")

        async def delivered() -> bool:
            rows = await h.rows(breach_id=breach_id)
            return len(rows) == 2 and all(r["status"] == "sent" for r in rows)

        await until(delivered)
        rows = {r["channel"]: r for r in await h.rows(breach_id=breach_id)}
        sent = await _read_all(infra.kafka_bootstrap, NOTIFICATIONS_SENT.qualified(prefix), 2)
        metrics = (await h.api.get("/metrics")).text

    assert rows["email"]["dedup_key"] == f"{breach_id}:opened:email:dana"
    assert rows["email"]["attempts"] == 1
    assert rows["sales-slack"]["attempts"] == 1  # the 429 is honoured, not counted as a failure
    assert [r.path for r in slack.requests] == ["/sales", "/sales"]
    blocks = slack.requests[1].json()["blocks"]
    assert blocks[0]["text"]["text"] == "Critical: New client acquisitions is off track (2026-Q1)"
    assert "so that acquire 50 new clients each quarter" in blocks[1]["text"]["text"]

    [mail] = smtp.messages
    assert mail["To"] == "dana@acme.example"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Actual:   12 clients" in text
    assert "Forecast: 21.6 clients" in text
    assert "This KPI matters so that a pipeline strong enough" in text
    assert "<strong>New client acquisitions is off track" in html

    assert sorted(e.data["dedup_key"] for e in sent) == sorted(
        r["dedup_key"] for r in rows.values()
    )
    assert {e.data["recipient"] for e in sent} == {"dana@acme.example", "sales-slack"}
    assert 'notifier_notifications_sent_total{channel="slack",kind="breach"}' in metrics
    assert 'notifier_rate_limited_total{channel="slack"}' in metrics


async def test_a_repeated_breach_event_plans_nothing_new(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    async with harness(
        infra, unique, settings_for(infra, database_url, prefix, smtp), now, {}
    ) as h:
        await h.strategy()
        await h.api_key("admin")
        first = await h.breach("csat", "service", "sam")
        again = await h.breach("csat", "service", "sam", breach_id=first)
        assert again == first
        # on csat's partition, behind the repeat: once it is sent, the repeat was handled
        marker = await h.breach("engagement", "people", "jo", key_of="csat")

        async def marker_sent() -> bool:
            return [r["status"] for r in await h.rows(breach_id=marker)] == ["sent"]

        await until(marker_sent)
        assert [r["status"] for r in await h.rows(breach_id=first)] == ["sent"]
    assert sorted(str(m["To"]) for m in smtp.messages) == ["jo@acme.example", "sam@acme.example"]


async def test_a_missing_webhook_variable_is_a_clear_error_then_a_dead_letter(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    settings = settings_for(
        infra,
        database_url,
        prefix,
        smtp,
        KPI_NOTIFIER_MAX_ATTEMPTS=2,
        KPI_NOTIFIER_RETRY_BASE_S=0.05,
    )
    async with harness(infra, unique, settings, now, {}) as h:
        await h.strategy()
        await h.api_key("admin")
        breach_id = await h.breach("ar-days", "finance", "priya")

        async def settled() -> bool:
            rows = await h.rows(breach_id=breach_id)
            return sorted(r["status"] for r in rows) == ["dead", "sent"]

        await until(settled)
        [dead] = await h.rows(breach_id=breach_id, status="dead")
    assert dead["channel"] == "finance-slack"
    assert dead["attempts"] == 2
    assert dead["last_error"] == (
        "environment variable ACME_FINANCE_SLACK_WEBHOOK is not set (alert channel finance-slack)"
    )


async def test_an_event_the_tables_refuse_is_dead_lettered_and_the_next_one_goes_through(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    settings = settings_for(infra, database_url, prefix, smtp)
    async with harness(infra, unique, settings, now, {}) as h:
        await h.strategy()
        await h.api_key("admin")
        refused = await h.breach("csat", "u" * 300, "sam")  # a unit id longer than the column
        after = await h.breach("engagement", "people", "jo")

        async def delivered() -> bool:
            return [r["status"] for r in await h.rows(breach_id=after)] == ["sent"]

        await until(delivered)
        dead_letters = await _read_all(infra.kafka_bootstrap, DEAD_LETTER.qualified(prefix), 1)
        # at least once: a batch handed out again (a rebalance while the consumer starts) is
        # dead-lettered again under the same envelope id, which readers drop as a repeat
        [dead] = {d.id: d for d in dead_letters}.values()
        assert await h.rows(breach_id=refused) == []
    assert "value too long for type character varying(200)" in dead.data["reason"]
    assert dead.data["topic"] == KPI_BREACHES.qualified(prefix)
    assert [str(m["To"]) for m in smtp.messages] == ["jo@acme.example"]
