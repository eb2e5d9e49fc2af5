"""The API against the real Postgres and Kafka: keys learned from goals.changes and their
roles, tenant isolation, silences, test notifications over a signed webhook, newer
revisions only, and the count of sends repeated after a sender died mid-send."""

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from kpi_common.apikeys import hash_api_key
from kpi_common.events import ApiKeyUpserted, Envelope, NodeDeleted, make_envelope
from kpi_common.kafka import Message
from kpi_common.offsets import Offsets
from kpi_common.topics import GOALS_CHANGES
from kpi_notifier.deliveries import Deliveries
from kpi_notifier.models import deliveries
from kpi_notifier.planning import Planned
from kpi_notifier.routing import Recipient
from sqlalchemy import update

from tests.conftest import Infra
from tests.integration.kpi_notifier.conftest import Harness, auth, harness, settings_for, until
from tests.integration.kpi_notifier.servers import SlackServer, SmtpServer
from tests.support.strategy_events import events, load

pytestmark = pytest.mark.integration


def now() -> datetime:
    return datetime.now(UTC)


async def sent(h: Harness, dedup_key: str) -> dict[str, Any]:
    async def done() -> bool:
        rows = [r for r in await h.rows() if r["dedup_key"] == dedup_key]
        return bool(rows) and rows[0]["status"] in ("sent", "dead")

    await until(done)
    return next(r for r in await h.rows() if r["dedup_key"] == dedup_key)


async def test_roles_tenants_and_silences(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    async with harness(infra, unique, settings, now, {}) as h:
        await h.strategy()
        admin, viewer = await h.api_key("admin"), await h.api_key("viewer")
        breach_id = await h.breach("csat", "service", "sam")
        await until(lambda: _has_rows(h, breach_id))
        other = await _other_tenant_key(h)
        api = h.api
        assert (await api.get("/v1/notifications")).status_code == 401
        assert (await api.get("/v1/notifications", headers=auth(viewer))).status_code == 200
        assert (
            await api.post(f"/v1/breaches/{breach_id}/ack", headers=auth(viewer))
        ).status_code == 403
        assert (
            await api.post(f"/v1/breaches/{breach_id}/ack", headers=auth(other))
        ).status_code == 404
        assert (await api.get("/v1/notifications", headers=auth(other))).json() == []
        ack = await api.post(f"/v1/breaches/{breach_id}/ack", headers=auth(admin))
        again = await api.post(f"/v1/breaches/{breach_id}/ack", headers=auth(admin))

        body = {"matchers": {"unit": "sales"}, "ends_at": (now() + timedelta(hours=1)).isoformat()}
        created = await api.post("/v1/silences", json=body, headers=auth(admin))
        past = {**body, "ends_at": (now() - timedelta(hours=1)).isoformat()}
        refused = await api.post("/v1/silences", json=past, headers=auth(admin))
        listed = (await api.get("/v1/silences", headers=auth(viewer))).json()
        sid = created.json()["id"]
        deleted = await api.delete(f"/v1/silences/{sid}", headers=auth(admin))
        missing = await api.delete(f"/v1/silences/{sid}", headers=auth(admin))
        ingest = await h.api_key_refused("ingest")
        await h.revoke(viewer, "viewer")
        revoked = await api.get("/v1/notifications", headers=auth(viewer))

    assert ack.status_code == 200
    assert again.json()["acked_at"] == ack.json()["acked_at"]
    assert created.status_code == 201
    assert refused.status_code == 422
    assert refused.json()["error"]["errors"][0]["path"] == "ends_at"
    assert [s["matchers"] for s in listed] == [{"unit": "sales"}]
    assert (deleted.status_code, missing.status_code) == (204, 404)
    assert ingest == 403
    assert revoked.status_code == 401


async def _has_rows(h: Harness, breach_id: str) -> bool:
    return bool(await h.rows(breach_id=breach_id))


async def _other_tenant_key(h: Harness) -> str:
    key = "kpi_other_" + h.tenant_id
    data = ApiKeyUpserted(key_id=f"other-{h.tenant_id}", key_hash=hash_api_key(key), role="admin")
    env = make_envelope(
        id=data.key_id, tenant_id="other-tenant", producer="goals", time=now(), data=data
    )
    await h.publish(GOALS_CHANGES.name, f"other:apikey:{data.key_id}", [env])
    await until(lambda: h._knows(key))
    return key


async def test_test_notification_over_a_signed_webhook(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    hook = SlackServer()
    await hook.start()
    doc = load()
    doc["alerts"]["channels"]["ops-hook"] = {
        "webhook": {"url": "${HOOK_URL}", "secret": "${HOOK_SECRET}"}
    }
    environ = {"HOOK_URL": hook.url("/in"), "HOOK_SECRET": "s3cret"}
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    try:
        async with harness(infra, unique, settings, now, environ) as h:
            await h.strategy(doc)
            admin = await h.api_key("admin")
            r = await _once_known(
                lambda: h.api.post(
                    "/v1/test-notification",
                    json={"to": "ops-hook", "note": "hi"},
                    headers=auth(admin),
                )
            )
            assert r.status_code == 202, r.text
            row = await sent(h, r.json()["dedup_key"])
            unknown = await h.api.post(
                "/v1/test-notification", json={"to": "ghost"}, headers=auth(admin)
            )
    finally:
        await hook.stop()
    assert row["status"] == "sent"
    [request] = hook.requests
    t, v1 = (part.split("=", 1)[1] for part in request.headers["x-kpi-signature"].split(","))
    expected = hmac.new(b"s3cret", f"{t}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert v1 == expected
    assert request.json()["kind"] == "test"
    assert request.json()["note"] == "hi"
    assert unknown.status_code == 422


async def _once_known(
    call: Callable[[], Awaitable[httpx.Response]], timeout_s: float = 30
) -> httpx.Response:
    """The answer once the notifier knows the recipient: the key's partition of
    goals.changes may be read before the channel's, and until then it is 422."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    answer = await call()
    while answer.status_code == 422 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
        answer = await call()
    return answer


async def test_only_newer_revisions_apply_and_deletions_stick(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    newer = load()
    newer["people"][2]["email"] = "dana.ortiz@acme.example"
    async with harness(infra, unique, settings, now, {}) as h:
        await h.publish(GOALS_CHANGES.name, "k", events(h.tenant_id, newer, revision=2))
        await h.strategy()  # revision 1 arrives late: changes nothing
        admin = await h.api_key("admin")
        r = await h.api.post("/v1/test-notification", json={"to": "dana"}, headers=auth(admin))
        await sent(h, r.json()["dedup_key"])

        def deleted(person: str) -> Envelope:
            gone = NodeDeleted(node_type="person", node_id=person, revision=3)
            return make_envelope(
                id=f"del-{person}", tenant_id=h.tenant_id, producer="goals", time=now(), data=gone
            )

        async def forgotten(person: str) -> bool:
            body = {"to": person}
            r = await h.api.post("/v1/test-notification", json=body, headers=auth(admin))
            return r.status_code == 422

        await h.publish(GOALS_CHANGES.name, "k", [deleted("dana")])
        stale = [e for e in events(h.tenant_id, newer, revision=2) if e.data["node_id"] == "dana"]
        await h.publish(GOALS_CHANGES.name, "k", stale)  # revision 2 of dana, after her deletion
        # same key, so once priya is forgotten the stale revision 2 above was read too
        await h.publish(GOALS_CHANGES.name, "k", [deleted("priya")])
        await until(lambda: forgotten("priya"))  # a poll before that mails priya: harmless
        assert await forgotten("dana")
    # every mail to dana (the first, and polls before the deletion applied) used revision 2
    to = {str(m["To"]) for m in smtp.messages}
    assert "dana.ortiz@acme.example" in to
    assert to <= {"dana.ortiz@acme.example", "priya@acme.example"}


async def test_a_row_left_sending_by_a_dead_sender_is_sent_again_and_counted(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    async with harness(infra, unique, settings, now, {}, loops=()) as h:
        # the consumer's handler, by hand (no offsets to store)
        await h.notifier.handler(_goals_messages(h), Offsets({}, {}))
        planned = Planned(
            "k1:opened:email:sam", "test", Recipient("email", "sam"), {"kind": "test"}
        )
        past = now() - timedelta(minutes=5)
        async with h.notifier.sessions() as session, session.begin():
            await Deliveries(session).add(h.tenant_id, [planned], now())
            await session.execute(
                update(deliveries).values(status="sending", lease_until=past, attempts=1)
            )
        assert await h.notifier.sender.run_once() == 1
        assert await h.notifier.sender.run_once() == 0
        async with h.notifier.sessions() as session:
            [row] = await Deliveries(session).listing(h.tenant_id)
    assert (row.status, row.attempts, row.redelivered) == ("sent", 2, 1)
    assert [str(m["To"]) for m in smtp.messages] == ["sam@acme.example"]


def _goals_messages(h: Harness) -> list[Message]:
    return [Message(e, "goals", 0, i) for i, e in enumerate(events(h.tenant_id))]


async def test_several_breaches_are_read_at_once_those_it_knows_in_the_order_asked(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    async with harness(infra, unique, settings, now, {}) as h:
        await h.strategy()
        viewer = await h.api_key("viewer")
        await h.api_key("admin")  # the delivery log's reader
        first = await h.breach("csat", "service", "sam")
        second = await h.breach("new-clients", "sales", "dana")
        await until(lambda: _has_rows(h, first))
        await until(lambda: _has_rows(h, second))
        asked = {"breach_id": [second, "brc-unknown", first, second]}
        many = await h.api.get("/v1/breaches", params=asked, headers=auth(viewer))
        one = [
            (await h.api.get(f"/v1/breaches/{b}", headers=auth(viewer))).json()
            for b in (second, first)
        ]
        none = await h.api.get("/v1/breaches", headers=auth(viewer))

    assert many.status_code == 200, many.text
    assert many.json() == {"breaches": one}
    assert none.status_code == 422
