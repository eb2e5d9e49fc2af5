"""One incident per cause, on the real Kafka, PostgreSQL, an SMTP server and a Slack stand-in:
in the acme strategy, `revenue-emea` and `revenue-amer` falling short so that `revenue`
breaches is one notification per recipient naming both regions, a later breach a reply in
the same thread, and an acknowledged incident reminds no more. Inhibition mutes a warning
under an open critical breach of the same unit (the documented default), and `inhibit: []`
turns that off."""

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kpi_common.events import KpiBreachResolved, make_envelope
from kpi_common.topics import KPI_BREACHES

from tests.conftest import Infra
from tests.integration.kpi_notifier.conftest import (
    T0,
    FakeClock,
    Harness,
    auth,
    example_breach,
    harness,
    settings_for,
    until,
)
from tests.integration.kpi_notifier.servers import SlackServer, SmtpServer
from tests.support.strategy_events import load

pytestmark = pytest.mark.integration
DAY = timedelta(days=1)
# Revenue is 2.5M behind its pace; EMEA 1.5M of it (60%), the Americas 1M (40%).
REGIONS = {
    "revenue-emea": ("sales-emea", "lars", "Revenue EMEA", 2_000_000, 3_500_000, 7_000_000),
    "revenue-amer": ("sales-amer", "ana", "Revenue Americas", 1_500_000, 2_500_000, 5_000_000),
    "revenue": ("acme", "morgan", "Revenue", 3_500_000, 6_000_000, 12_000_000),
}


@pytest.fixture
async def plain_slack() -> AsyncIterator[SlackServer]:
    server = SlackServer()
    await server.start()
    yield server
    await server.stop()


@dataclass(frozen=True)
class Scene:
    h: Harness
    clock: FakeClock
    admin: str


@pytest.fixture
async def acme(
    request: pytest.FixtureRequest,
    infra: Infra,
    database_url: str,
    unique: str,
    smtp: SmtpServer,
    plain_slack: SlackServer,
) -> AsyncIterator[Scene]:
    """A notifier on a fake clock that knows the acme strategy (no reviews; `alerts.inhibit`
    as the test's indirect parameter, else the default) and an admin key."""
    clock = FakeClock(T0)
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    doc = load()
    doc["reviews"] = []
    if hasattr(request, "param"):
        doc["alerts"]["inhibit"] = request.param
    async with harness(infra, unique, settings, clock, environ(plain_slack)) as h:
        await h.strategy(doc)
        yield Scene(h, clock, await h.api_key("admin"))


def facts(kpi: str, period: str = "2026") -> dict[str, Any]:
    _, _, title, actual, expected, target = REGIONS[kpi]
    return {"kpi_title": title, "actual": actual, "expected": expected, "target": target,
            "period": period, "unit_of_measure": "USD", "so_that_chain": []}  # fmt: skip


async def breach(h: Harness, kpi: str, period: str = "2026") -> str:
    unit, owner, *_ = REGIONS[kpi]
    return await h.breach(kpi, unit, owner, **facts(kpi, period))


async def known(h: Harness, breach_ids: list[str]) -> None:
    async def all_known() -> bool:
        for breach_id in breach_ids:
            r = await h.api.get(f"/v1/breaches/{breach_id}", headers=auth(h.keys["admin"]))
            if r.status_code != 200:
                return False
        return True

    await until(all_known)


async def send_due(h: Harness, clock: FakeClock, rows: int) -> None:
    """Move past the grouping wait and wait until `rows` notifications were handled."""
    clock.advance(timedelta(seconds=1))
    h.notifier.sender.wake()

    async def handled() -> bool:
        found = await h.rows(limit=1000)
        done = [r for r in found if r["status"] in ("sent", "suppressed", "dead", "cancelled")]
        return len(found) == rows and len(done) == rows

    await until(handled)


def environ(slack: SlackServer) -> dict[str, str]:
    return {
        "ACME_SALES_SLACK_WEBHOOK": slack.url("/sales"),
        "ACME_FINANCE_SLACK_WEBHOOK": slack.url("/finance"),
    }


async def test_two_regions_short_of_revenue_are_one_incident_one_notification_per_recipient(
    acme: Scene, smtp: SmtpServer, plain_slack: SlackServer
) -> None:
    h, clock, admin = acme.h, acme.clock, acme.admin
    ids = [await breach(h, k) for k in ("revenue-emea", "revenue-amer", "revenue")]
    await known(h, ids)
    # lars, ana and sales-slack (route sales), morgan (the catch-all): 4, not 5
    await send_due(h, clock, 4)
    first = await h.rows(limit=1000)
    listed = (await h.api.get("/v1/incidents", headers=auth(admin))).json()

    later = await breach(h, "revenue-emea", "2026-Q1")  # the same cause, again
    await known(h, [later])
    await send_due(h, clock, 8)  # an update to each of the four

    clock.advance(DAY)
    reminders = await h.notifier.ticker.tick()
    await send_due(h, clock, 8 + reminders)
    incident = listed[0]["incident_id"]
    ack = await h.api.post(f"/v1/incidents/{incident}/ack", headers=auth(admin))
    clock.advance(DAY)
    after_ack = await h.notifier.ticker.tick()
    shown = (await h.api.get(f"/v1/incidents/{incident}", headers=auth(admin))).json()
    emea = (await h.api.get(f"/v1/breaches/{ids[0]}", headers=auth(admin))).json()

    assert Counter(r["kind"] for r in first) == {"incident": 4}
    assert {r["recipient"] for r in first} == {"lars", "ana", "morgan", "sales-slack"}
    assert len(listed) == 1
    assert listed[0]["state"] == "open"
    causes = {c["kpi_id"]: c["share"] for c in listed[0]["causes"]}
    assert causes == {"revenue-emea": 0.6, "revenue-amer": 0.4}
    assert [p["kpi_id"] for p in listed[0]["parents"]] == ["revenue"]

    morgan = smtp.to("morgan@acme.example")
    # the first names both regions; the later EMEA breach is a reply in the thread
    assert [str(m["Subject"]).split(":")[0] for m in morgan] == [
        "Incident " + incident,
        "Re",
        "Reminder",
    ]
    text = morgan[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Revenue EMEA" in text
    assert "Revenue Americas" in text
    assert "60% of the gap" in text
    assert "40% of the gap" in text
    assert "Parents affected" in text
    assert "kpi incidents ack " + incident in text

    lars = smtp.to("lars@acme.example")
    assert [str(m["Subject"]).split(":")[0] for m in lars[:2]] == ["Incident " + incident, "Re"]
    assert lars[1]["In-Reply-To"] == lars[0]["Message-ID"] == lars[1]["References"]
    sales = [r.json() for r in plain_slack.requests if r.path == "/sales"]
    assert "Revenue EMEA" in sales[0]["text"]
    assert "Revenue Americas" in sales[0]["text"]
    assert "Update to incident " + incident in str(sales[1]["blocks"])

    # reminders: one per recipient of the incident, not one per breach of it
    assert reminders == 4
    reminder = morgan[2].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "kpi incidents ack " + incident in reminder
    assert ack.status_code == 200, ack.text
    assert sorted(ack.json()["breach_ids"]) == sorted([*ids, later])
    assert after_ack == 0  # acknowledged: no more reminders
    assert shown["state"] == "acked"
    assert emea["acked_at"] is not None


async def two_in_service(h: Harness) -> tuple[str, str]:
    critical = await h.breach("csat", "service", "sam", severity="critical")
    # on csat's partition, behind it: the critical one is open when the warning comes
    warning = await h.breach("churn-rate", "service", "sam", key_of="csat", severity="warning")
    await known(h, [critical, warning])
    return critical, warning


async def test_an_open_critical_breach_mutes_a_warning_of_its_unit(acme: Scene) -> None:
    _, warning = await two_in_service(acme.h)
    rows = await acme.h.rows(breach_id=warning)

    assert len(rows) == 1  # sam, by email (the catch-all route)
    assert (rows[0]["status"], rows[0]["suppressed_by"]) == ("suppressed", "inhibit0")


@pytest.mark.parametrize("acme", [[]], indirect=True)
async def test_an_empty_inhibit_list_mutes_nothing(acme: Scene) -> None:
    _, warning = await two_in_service(acme.h)
    rows = await acme.h.rows(breach_id=warning)

    assert len(rows) == 1
    assert rows[0]["suppressed_by"] is None


async def resolve(h: Harness, breach_id: str, kpi: str) -> None:
    unit, owner, *_ = REGIONS[kpi]
    ids = {"breach_id": breach_id, "kpi_id": kpi, "unit_id": unit, "owner": owner}
    at = {"resolved_at": (T0 + DAY).isoformat(), "status": "on_track"}
    data = KpiBreachResolved.model_validate({**example_breach(), **facts(kpi), **ids, **at})
    env = make_envelope(id=f"{breach_id}-resolved", tenant_id=h.tenant_id, producer="evaluator",
                        time=datetime.now(UTC), data=data)  # fmt: skip
    await h.publish(KPI_BREACHES.name, f"{h.tenant_id}:{kpi}", [env])


async def test_the_incident_closes_once_with_its_last_breach_and_says_so_once(
    acme: Scene, smtp: SmtpServer
) -> None:
    h, clock, admin = acme.h, acme.clock, acme.admin
    emea, revenue = await breach(h, "revenue-emea"), await breach(h, "revenue")
    await known(h, [emea, revenue])
    await send_due(h, clock, 3)  # lars, sales-slack, morgan
    await resolve(h, emea, "revenue-emea")
    await until(lambda: _resolved(h, emea))
    still_open = (await h.api.get("/v1/incidents", headers=auth(admin))).json()
    await resolve(h, revenue, "revenue")
    await send_due(h, clock, 6)
    closed = (await h.api.get("/v1/incidents?state=resolved", headers=auth(admin))).json()
    rows = await h.rows(limit=1000)

    assert still_open[0]["state"] == "open"
    assert len(closed) == 1
    kinds = Counter(r["kind"] for r in rows)
    assert kinds == {"incident": 3, "incident_closed": 3}  # no per-breach resolved notices
    subjects = [str(m["Subject"]) for m in smtp.to("morgan@acme.example")]
    assert subjects[1] == subjects[0].split(",")[0].replace("Incident", "Re: Incident", 1)


async def _resolved(h: Harness, breach_id: str) -> bool:
    r = await h.api.get(f"/v1/breaches/{breach_id}", headers=auth(h.keys["admin"]))
    return bool(r.json().get("resolved_at"))


async def test_a_silence_created_while_the_notification_waits_holds_it_back(
    acme: Scene, smtp: SmtpServer, plain_slack: SlackServer
) -> None:
    h, clock, admin = acme.h, acme.clock, acme.admin
    emea, revenue = await breach(h, "revenue-emea"), await breach(h, "revenue")
    await known(h, [emea, revenue])
    planned = await h.rows(limit=1000)  # waiting out the incident's grouping window
    body = {
        "matchers": {"kpi": ["revenue-emea", "revenue"]},
        "ends_at": (clock.now + DAY).isoformat(),
    }
    silence = await h.api.post("/v1/silences", json=body, headers=auth(admin))
    await send_due(h, clock, 3)  # lars, sales-slack, morgan
    rows = await h.rows(limit=1000)

    assert {r["status"] for r in planned} == {"pending"}
    assert silence.status_code == 201, silence.text
    assert {(r["kind"], r["status"], r["suppressed_by"]) for r in rows} == {
        ("incident", "suppressed", silence.json()["id"])
    }
    assert smtp.to("lars@acme.example") == smtp.to("morgan@acme.example") == []
    assert plain_slack.requests == []
