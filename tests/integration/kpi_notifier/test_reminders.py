"""Time-driven behaviour under an injected clock, with no sleeping: reminders until an ack,
silences, escalation to the parent unit's owner, review reminders and the overdue notice."""

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from demo import report
from demo.clock import DEMO_NOW
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
DAY = timedelta(days=1)


@pytest.fixture
async def plain_slack() -> AsyncIterator[SlackServer]:
    server = SlackServer()
    await server.start()
    yield server
    await server.stop()


async def settled(h: Harness) -> None:
    """Wait until nothing is left to send at the clock's now."""

    async def nothing_pending() -> bool:
        rows = await h.rows(limit=1000)
        return all(r["status"] in ("sent", "suppressed", "dead", "cancelled") for r in rows)

    await until(nothing_pending)


def subjects(smtp: SmtpServer, address: str) -> list[str]:
    return [str(m["Subject"]) for m in smtp.to(address)]


async def test_reminders_stop_on_ack_silences_suppress_and_escalation_fires_after_2d(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer, plain_slack: SlackServer
) -> None:
    clock = FakeClock(T0)
    environ = {
        "ACME_SALES_SLACK_WEBHOOK": plain_slack.url("/sales"),
        "ACME_FINANCE_SLACK_WEBHOOK": plain_slack.url("/finance"),
    }
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    doc = load()
    doc["reviews"] = []  # reviews have their own test
    async with harness(infra, unique, settings, clock, environ) as h:
        await h.strategy(doc)
        admin = await h.api_key("admin")
        silence = await h.api.post(
            "/v1/silences",
            json={"matchers": {"kpi": "csat"}, "ends_at": (T0 + 10 * DAY).isoformat()},
            headers=auth(admin),
        )
        assert silence.status_code == 201, silence.text
        sales = await h.breach("new-clients", "sales", "dana")
        finance = await h.breach("ar-days", "finance", "priya")
        quiet = await h.breach("csat", "service", "sam")

        async def opened_planned() -> bool:
            return len(await h.rows()) == 5

        await until(opened_planned)
        await settled(h)
        ack = await h.api.post(f"/v1/breaches/{finance}/ack", headers=auth(admin))
        assert ack.status_code == 200, ack.text

        clock.advance(DAY)
        assert await h.notifier.ticker.tick() == 3  # dana, sales-slack, sam (suppressed)
        await settled(h)
        clock.advance(DAY)
        assert await h.notifier.ticker.tick() == 4  # reminder 2 x3, escalation to morgan
        await settled(h)
        assert await h.notifier.ticker.tick() == 0
        quiet_rows = await h.rows(breach_id=quiet)

    assert subjects(smtp, "dana@acme.example") == [
        "Critical: New client acquisitions is off track (2026-Q1)",
        "Reminder: New client acquisitions is still off track",
        "Reminder: New client acquisitions is still off track",
    ]
    assert subjects(smtp, "morgan@acme.example") == [
        "Escalated: New client acquisitions is off track, unacknowledged"
    ]
    assert len(subjects(smtp, "priya@acme.example")) == 1  # acknowledged: no reminders
    assert subjects(smtp, "sam@acme.example") == []  # silenced
    assert {r["status"] for r in quiet_rows} == {"suppressed"}
    assert len(quiet_rows) == 3
    assert Counter(r.path for r in plain_slack.requests) == {"/sales": 3, "/finance": 1}
    assert sales


async def test_review_reminders_at_each_offset_then_overdue_unless_held(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    doc = load()
    doc["reviews"] = [r for r in doc["reviews"] if r["id"] == "quarterly-business-review"]
    clock = FakeClock(datetime(2026, 3, 23, 12, tzinfo=UTC))
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    async with harness(infra, unique, settings, clock, {}) as h:
        await h.strategy(doc)
        admin = await h.api_key("admin")
        viewer = await h.api_key("viewer")
        assert await h.notifier.ticker.tick() == 0  # eight days before: nothing yet
        clock.now = datetime(2026, 3, 24, 0, tzinfo=UTC)
        assert await h.notifier.ticker.tick() == 6  # 7d before: every attendee
        assert await h.notifier.ticker.tick() == 0
        clock.now = datetime(2026, 3, 30, 9, tzinfo=UTC)
        assert await h.notifier.ticker.tick() == 6  # 1d before
        clock.now = datetime(2026, 4, 1, 0, tzinfo=UTC)
        assert await h.notifier.ticker.tick() == 6  # overdue
        await settled(h)
        [overdue] = (await h.api.get("/v1/reviews", headers=auth(viewer))).json()
        late = (await h.api.get("/v1/findings", headers=auth(viewer))).json()
        path = "/v1/reviews/quarterly-business-review/held"
        denied = await h.api.post(path, headers=auth(viewer))
        held = await h.api.post(path, headers=auth(admin))
        [after] = (await h.api.get("/v1/reviews", headers=auth(viewer))).json()
        none_late = (await h.api.get("/v1/findings", headers=auth(viewer))).json()
        clock.now = datetime(2026, 4, 2, 0, tzinfo=UTC)
        assert await h.notifier.ticker.tick() == 0
        clock.now = datetime(2026, 6, 23, 0, tzinfo=UTC)
        assert await h.notifier.ticker.tick() == 6  # the next quarter's review
        await settled(h)

    assert (overdue["next_due"], overdue["overdue"], overdue["days_overdue"]) == (
        "2026-03-31",
        True,
        1,
    )
    assert late["findings"] == [
        {
            "rule": "review_overdue",
            "severity": "warning",
            "node_type": "review",
            "node_id": "quarterly-business-review",
            "explanation": "Review quarterly-business-review was due on 2026-03-31 (1 day(s)"
            " ago) and is not recorded as held; never recorded as held.",
            "suggested_fix": "Hold it and record it: kpi review-held quarterly-business-review",
            "next_due": "2026-03-31",
            "days_overdue": 1,
            "last_held": None,
        }
    ]
    assert late["counts"] == {"error": 0, "warning": 1, "info": 0}
    assert [r["id"] for r in late["rules"]] == ["review_overdue"]
    assert none_late["findings"] == []  # held: overdue nowhere
    assert after["next_due"] == "2026-06-30"
    assert after["last_held"] == "2026-03-31"
    assert after["overdue"] is False
    assert denied.status_code == 403
    assert held.json() == {
        "review_id": "quarterly-business-review",
        "held": "2026-03-31",
        "next_due": "2026-06-30",
    }
    assert subjects(smtp, "jo@acme.example") == [
        "Coming up: quarterly-business-review on 2026-03-31",
        "Coming up: quarterly-business-review on 2026-03-31",
        "Overdue: quarterly-business-review was due 2026-03-31 and is not recorded as held",
        "Coming up: quarterly-business-review on 2026-06-30",
    ]


async def test_reminders_already_planned_are_cancelled_by_an_ack_and_held_by_a_new_silence(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    clock = FakeClock(T0)
    doc = load()
    doc["reviews"] = []
    doc["alerts"]["routes"] = []  # the owner by email
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    async with harness(infra, unique, settings, clock, {}) as h:
        await h.strategy(doc)
        admin = await h.api_key("admin")
        acked = await h.breach("csat", "service", "sam")
        quiet = await h.breach("engagement", "people", "jo")

        async def both_opened() -> bool:
            return len(await h.rows()) == 2

        await until(both_opened)
        await settled(h)
        sender = h.notifier.sender
        await h.notifier.runtime.supervisor.stop()  # from here on the test drives the sender
        clock.advance(DAY)
        assert await h.notifier.ticker.tick() == 2
        await h.api.post(f"/v1/breaches/{acked}/ack", headers=auth(admin))
        body = {"matchers": {"unit": "people"}, "ends_at": (T0 + 5 * DAY).isoformat()}
        await h.api.post("/v1/silences", json=body, headers=auth(admin))
        assert await sender.run_once() == 2
        [cancelled] = await h.rows(breach_id=acked, kind="reminder")
        [suppressed] = await h.rows(breach_id=quiet, kind="reminder")
    assert (cancelled["status"], cancelled["last_error"]) == ("cancelled", "acknowledged")
    assert suppressed["status"] == "suppressed"
    assert suppressed["suppressed_by"].startswith("sil-")
    assert len(smtp.messages) == 2  # the two opened notices only


async def test_the_demo_prints_the_notifiers_overdue_review(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    """`make demo`'s findings table (demo/report.py) rendered from the real notifier's answer
    at the demo's now: `sales-pipeline-review` is overdue, planted by the demo clock."""
    clock = FakeClock(DEMO_NOW)
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    async with harness(infra, unique, settings, clock, {}) as h:
        await h.strategy(load())
        viewer = await h.api_key("viewer")
        answer = (await h.api.get("/v1/findings", headers=auth(viewer))).json()
    console = Console(record=True, width=400)
    report.alignment(console, {"findings": []}, answer, {"findings": []})

    [row] = [r for r in console.export_text().splitlines() if "│ review " in r]
    assert "review_overdue" in row
    assert "review sales-pipeline-review" in row
    assert "was due on 2026-01-30 (56 day(s) ago)" in row
    assert "the demo clock" in row
