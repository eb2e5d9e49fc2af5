"""Burn-rate alerts through the notifier on the real Kafka and Postgres: a fired alert of
acme's cash-flow rule reaches the finance route (the owner by email, #finance on Slack)
once, even when the event comes twice; its resolution once more; a shadow rule's alert
sends nothing."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kpi_common.events import Envelope, KpiBurnRateFired, KpiBurnRateResolved, make_envelope
from kpi_common.topics import KPI_BREACHES
from kpi_evaluator.models import outbox
from sqlalchemy import func, select

from tests.conftest import Infra
from tests.integration.kpi_evaluator.conftest import (
    Clock,
    Running,
    make_settings,
    metric,
    publish_strategy,
    running_app,
    send_metrics,
)
from tests.integration.kpi_notifier.conftest import Harness, harness, settings_for, until
from tests.integration.kpi_notifier.servers import SlackServer, SmtpServer

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[3] / "libs/kpi-common/src/kpi_common/examples"


def now() -> datetime:
    return datetime.now(UTC)


def example(name: str, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.v1.json").read_text())[0]["data"]
    return {**data, **over}


async def send(h: Harness, data: KpiBurnRateFired | KpiBurnRateResolved, event: str) -> None:
    env: Envelope = make_envelope(
        id=f"burn:{data.alert_id}:{event}",
        tenant_id=h.tenant_id,
        producer="evaluator",
        time=now(),
        data=data,
    )
    await h.publish(KPI_BREACHES.name, f"{h.tenant_id}:{data.kpi_id}", [env])


async def test_a_burn_rate_alert_is_delivered_once_and_a_shadow_one_not_at_all(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer, slack: SlackServer
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    environ = {"ACME_FINANCE_SLACK_WEBHOOK": slack.url("/finance")}
    settings = settings_for(infra, database_url, prefix, smtp)
    async with harness(infra, unique, settings, now, environ) as h:
        await h.strategy()
        await h.api_key("admin")
        shadow = KpiBurnRateFired.model_validate(
            example("kpi.burn_rate.fired", alert_id="shadow-1", mode="shadow")
        )
        fired = KpiBurnRateFired.model_validate(example("kpi.burn_rate.fired", alert_id="a-1"))
        await send(h, shadow, "fired")  # same partition, before the live one
        await send(h, fired, "fired")
        await send(h, fired, "fired")  # a repeat (a replay) plans nothing new

        async def sent(kind: str, n: int) -> bool:
            rows = await h.rows(kind=kind)
            return len(rows) == n and all(r["status"] == "sent" for r in rows)

        await until(lambda: sent("burn", 2))
        resolved = KpiBurnRateResolved.model_validate(
            example("kpi.burn_rate.resolved", alert_id="a-1")
        )
        await send(h, resolved, "resolved")
        await until(lambda: sent("burn_resolved", 2))
        rows = await h.rows()
    assert sorted(r["dedup_key"] for r in rows) == [
        "burn:a-1:fired:email:priya",
        "burn:a-1:fired:slack:finance-slack",
        "burn:a-1:resolved:email:priya",
        "burn:a-1:resolved:slack:finance-slack",
    ]  # nothing for shadow-1
    subjects = sorted(str(m["Subject"]) for m in smtp.messages)
    assert subjects == [
        "Resolved: Operating cash flow burn rate (2026)",
        "Warning: Operating cash flow burning its 2026 budget 2.1x (20.7% short at this pace)",
    ]
    text = next(m for m in smtp.messages if "Warning" in str(m["Subject"]))
    body = text.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "2.1x as fast as it may over the last 28 days, and 3.2x over the last 7 days" in body
    assert "so that increase operating cash flow by 15%" in body
    posts = [r for r in slack.accepted() if r.path == "/finance"]
    assert len(posts) == 2


async def test_the_evaluators_alert_reaches_the_finance_route_once(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer, slack: SlackServer
) -> None:
    """Evaluator and notifier in process on one database and topic prefix: acme's cash flow
    at the worked example's numbers (docs/strategy.md) fires its rule, the notifier mails
    priya and posts to #finance once, and evaluating again (a tick) sends nothing more."""
    prefix = f"{infra.topic_prefix}{unique}."
    ntf = settings_for(infra, database_url, prefix, smtp)
    ev = make_settings(infra, prefix, database_url=database_url)
    environ = {"ACME_FINANCE_SLACK_WEBHOOK": slack.url("/finance")}
    async with (
        harness(infra, unique, ntf, now, environ) as h,
        running_app(ev, Clock(datetime(2026, 6, 1, tzinfo=UTC))) as app,
    ):
        tenant = await publish_strategy(ev, tenant_id=h.tenant_id)
        await h.api_key("admin")
        await until(lambda: knows(app, h.tenant_id, "cash-flow"), 60)
        events = worked_example(h.tenant_id)
        await send_metrics(ev, events)
        await app.wait_consumed(len(events))
        year = await app.client.get(
            "/v1/kpis/cash-flow/status", params={"period": "2026"}, headers=tenant.auth
        )
        await until(lambda: sent_burns(h, 2), 60)
        await app.parts.ticker.tick_once([h.tenant_id])
        await app.parts.ticker.tick_once([h.tenant_id])
        await until(lambda: outbox_empty(app), 60)  # whatever the ticks wrote is on Kafka
        marker = await h.breach("csat", "service", "sam", key_of="cash-flow")
        await until(lambda: marker_sent(h, marker), 60)  # on the partition, behind it
        rows = await h.rows(kind="burn")
    assert year.json()["status"] == "on_track"
    assert sorted((r["channel"], r["recipient"], r["status"]) for r in rows) == [
        ("email", "priya", "sent"),
        ("finance-slack", "finance-slack", "sent"),
    ]
    [mail] = [m for m in smtp.messages if "burning" in str(m["Subject"])]
    assert str(mail["Subject"]) == (
        "Warning: Operating cash flow burning its 2026 budget 2.1x (20.7% short at this pace)"
    )


def worked_example(tenant: str) -> list[Any]:
    def days(first: int, n: int, total: float) -> list[Any]:
        start = datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=first)
        return [
            metric(
                tenant, "finance.cash.operating", total / n, (start + timedelta(days=i)).isoformat()
            )
            for i in range(n)
        ]

    # 450,000 to May 3 (day 0..122), 55,000 May 4..24, 15,000 May 25..31
    return [*days(0, 123, 450_000), *days(123, 21, 55_000), *days(144, 7, 15_000)]


async def knows(app: Running, tenant_id: str, kpi: str) -> bool:
    strategy = await app.parts.strategies.get(tenant_id)
    return strategy is not None and kpi in strategy.kpis


async def sent_burns(h: Harness, n: int) -> bool:
    rows = await h.rows(kind="burn")
    return len(rows) == n and all(r["status"] == "sent" for r in rows)


async def outbox_empty(app: Running) -> bool:
    async with app.parts.runtime.sessions() as session:
        rows = await session.execute(select(func.count()).select_from(outbox))
        return rows.scalar_one() == 0


async def marker_sent(h: Harness, breach_id: str) -> bool:
    return "sent" in [r["status"] for r in await h.rows(breach_id=breach_id)]
