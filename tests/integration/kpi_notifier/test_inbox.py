"""A person's inbox on the real Kafka and Postgres: built from the breaches, statuses and
strategy the notifier consumed; an ack takes a breach out; another tenant's people are
invisible (404); the weekly inbox digest is the same inbox, by email."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kpi_common.events import KpiStatusChanged, make_envelope
from kpi_common.topics import KPI_STATUS
from kpi_notifier.scorecard_store import ScorecardStore

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
from tests.integration.kpi_notifier.servers import SmtpServer
from tests.support.strategy_events import load

pytestmark = pytest.mark.integration
MONDAY = datetime(2026, 2, 23, 8, 0, tzinfo=UTC)


def status(tenant: str, kpi: str, value: str) -> Any:
    data = KpiStatusChanged(
        kpi_id=kpi, period="FY2026", period_start=datetime(2026, 1, 1, tzinfo=UTC),
        period_end=datetime(2027, 1, 1, tzinfo=UTC), actual=1, target=2, expected=1,
        forecast=1, status=value, evaluated_at=T0,
    )  # fmt: skip
    return make_envelope(id=f"st-{tenant}-{kpi}", tenant_id=tenant, producer="evaluator",
                         time=T0, data=data)  # fmt: skip


async def get_inbox(h: Harness, key: str, person: str) -> tuple[int, dict[str, Any]]:
    r = await h.api.get("/v1/inbox", params={"person": person}, headers=auth(key))
    body: dict[str, Any] = r.json()
    return r.status_code, body


async def _statuses(h: Harness, n: int) -> bool:
    async with h.notifier.sessions() as session:
        return len(await ScorecardStore(session).statuses(h.tenant_id)) == n


async def test_a_persons_inbox_lists_what_they_owe_and_no_other_tenants(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    clock = FakeClock(T0)
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    async with harness(infra, unique, settings, clock, {}) as a:
        b = Harness(f"{a.tenant_id}-b", a.prefix, a.api, a.notifier, a.producer)
        other = load()
        other["people"].append({"id": "zoe", "name": "Zoe", "unit": "sales", "email": "z@b.x"})
        await a.strategy()
        await b.strategy(other)
        key_a, key_b = await a.api_key("viewer"), await b.api_key("admin")
        await a.api_key("admin")
        mine = await a.breach("revenue-emea", "sales-emea", "lars")
        await a.breach("new-clients", "sales", "dana")
        foreign = await b.breach("revenue-emea", "sales-emea", "lars")
        healthy = [status(a.tenant_id, k, "on_track") for k in ("revenue-amer", "new-clients")]
        await a.publish(KPI_STATUS.name, f"{a.tenant_id}:s", healthy)
        await until(lambda: _statuses(a, 2))
        await until(lambda: _has(a, mine))
        await until(lambda: _has(b, foreign))
        code, lars = await get_inbox(a, key_a, "lars")
        zoe_from_a = (await get_inbox(a, key_a, "zoe"))[0]
        zoe_from_b = (await get_inbox(b, key_b, "zoe"))[0]
        nobody = await get_inbox(a, key_a, "nobody")
        await a.api.post(f"/v1/breaches/{mine}/ack", headers=auth(a.keys["admin"]))
        stale = status(a.tenant_id, "revenue-emea", "stale")
        await a.publish(KPI_STATUS.name, f"{a.tenant_id}:s", [stale])
        await until(lambda: _statuses(a, 3))
        after = (await get_inbox(a, key_a, "lars"))[1]
        lars_b = (await get_inbox(b, key_b, "lars"))[1]

    assert code == 200
    assert lars["person"] == "lars"
    assert lars["name"] == "Lars Berg"
    assert [x["breach_id"] for x in lars["breaches"]] == [mine]  # not dana's, not B's
    assert lars["breaches"][0]["kpi_title"] == "Revenue EMEA"
    # sales-pipeline-review (monthly from 2026-01-30, lars attends): overdue on 2026-02-20
    assert [(r["review_id"], r["overdue"]) for r in lars["reviews"]] == [
        ("sales-pipeline-review", True)
    ]
    assert [(k["kpi_id"], k["status"]) for k in lars["kpis"]] == [("revenue-emea", "no_data")]
    assert lars["count"] == 3
    assert (zoe_from_a, zoe_from_b) == (404, 200)  # tenant A's key never sees B's person
    assert nobody[0] == 404
    assert nobody[1]["error"]["message"] == "person nobody not found"
    assert after["breaches"] == []  # acknowledged: no longer owed
    assert [(k["kpi_id"], k["status"]) for k in after["kpis"]] == [("revenue-emea", "stale")]
    assert [x["breach_id"] for x in lars_b["breaches"]] == [foreign]


async def _has(h: Harness, breach_id: str) -> bool:
    r = await h.api.get(f"/v1/breaches/{breach_id}", headers=auth(h.keys["admin"]))
    return r.status_code == 200


async def test_the_weekly_inbox_digest_sends_each_persons_inbox_once_a_week(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    clock = FakeClock(MONDAY - timedelta(hours=1))
    doc = load()
    doc["reviews"] = []
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp,
                            KPI_NOTIFIER_INBOX_DIGEST=True)  # fmt: skip
    async with harness(infra, unique, settings, clock, {}) as h:
        await h.strategy(doc)
        await h.api_key("admin")
        everything_fine = [status(h.tenant_id, k, "on_track") for k in _kpis(doc)]
        await h.publish(KPI_STATUS.name, f"{h.tenant_id}:s", everything_fine)
        await until(lambda: _statuses(h, len(everything_fine)))
        breach_id = await h.breach("revenue-emea", "sales-emea", "lars")
        await until(lambda: _has(h, breach_id))
        await h.notifier.ticker.tick()
        before_monday = await h.rows(kind="digest")
        clock.now = MONDAY
        await h.notifier.ticker.tick()
        await h.notifier.ticker.tick()

        async def digest_sent() -> bool:
            return any(r["status"] == "sent" for r in await h.rows(kind="digest"))

        await until(digest_sent)
        digests = await h.rows(kind="digest")
        _, box = await get_inbox(h, h.keys["admin"], "lars")

    assert before_monday == []
    # once, and only to lars: everybody else's inbox is empty
    assert [d["dedup_key"] for d in digests] == ["inbox:2026-W09:email:lars"]
    (mail,) = [m for m in smtp.to("lars@acme.example") if "inbox" in str(m["Subject"])]
    assert mail["Subject"] == "Your inbox 2026-W09: 1 item waiting on you"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    item = box["breaches"][0]
    assert f"* Revenue EMEA ({item['period']}): off track" in text
    assert f"kpi ack {breach_id}" in text


def _kpis(doc: dict[str, Any]) -> list[str]:
    return [k["id"] for k in doc["kpis"]]
