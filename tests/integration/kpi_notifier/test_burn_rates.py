"""Burn-rate alerts through the notifier on the real Kafka and Postgres: a fired alert of
acme's cash-flow rule reaches the finance route (the owner by email, #finance on Slack)
once, even when the event comes twice; its resolution once more; a shadow rule's alert
sends nothing."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kpi_common.events import Envelope, KpiBurnRateFired, KpiBurnRateResolved, make_envelope
from kpi_common.topics import KPI_BREACHES

from tests.conftest import Infra
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
