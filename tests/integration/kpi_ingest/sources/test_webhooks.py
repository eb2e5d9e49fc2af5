"""Sources end to end against the real Kafka and Postgres: configure, receive signed
webhooks, refuse bad and replayed signatures, dead-letter what cannot be mapped."""

import time
from collections import Counter

import httpx
import orjson
from kpi_common.topics import METRICS_DEAD_LETTER, METRICS_EVENTS
from kpi_ingest.config import Settings
from kpi_ingest.sources.signatures import hubspot_v3_signature, stripe_v1_signature

from tests.integration.kpi_ingest.conftest import auth, new_tenant, read_topic, wait_key_known

HUBSPOT_URL = "https://hooks.example.com/v1/sources/{id}/webhook"


def _hubspot(source_id: str) -> dict[str, object]:
    return {
        "kind": "hubspot",
        "signature": {
            "scheme": "hubspot_v3",
            "secret": "hs-client-secret",
            "public_url": HUBSPOT_URL.format(id=source_id),
        },
        "mapping": [
            {
                "for_each": "[*]",
                "when": "propertyValue == 'closedwon'",
                "id": "join(':', ['hs', to_string(eventId)])",
                "metric": "'crm.deal.won'",
                "value": "`1`",
                "time": "occurredAt",
                "dimensions": {"deal": "to_string(objectId)"},
            }
        ],
    }


def _stripe() -> dict[str, object]:
    return {
        "kind": "stripe",
        "signature": {"scheme": "stripe_v1", "secret": "whsec_integration"},
        "mapping": [
            {
                "id": "id",
                "metric": "'billing.invoice.paid'",
                "value": "data.object.amount_paid",
                "time": "created",
                "dimensions": {"currency": "data.object.currency"},
            }
        ],
    }


def _hs_headers(source_id: str, body: bytes, secret: str = "hs-client-secret") -> dict[str, str]:
    ts = str(int(time.time() * 1000))
    uri = HUBSPOT_URL.format(id=source_id)
    return {
        "X-HubSpot-Signature-v3": hubspot_v3_signature(secret, "POST", uri, body, ts),
        "X-HubSpot-Request-Timestamp": ts,
        "Content-Type": "application/json",
    }


def _stripe_headers(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = stripe_v1_signature("whsec_integration", ts, body)
    return {"Stripe-Signature": f"t={ts},v1={sig}", "Content-Type": "application/json"}


async def test_hubspot_webhook_is_verified_mapped_produced_and_replays_refused(
    settings: Settings, client: httpx.AsyncClient, unique: str
) -> None:
    admin = await new_tenant(settings, "admin")
    await wait_key_known(client, admin.key)
    sid = f"hs-{unique}"
    put = await client.put(f"/v1/sources/{sid}", json=_hubspot(sid), headers=auth(admin.key))
    assert put.status_code == 201, put.text
    assert put.json()["signature"]["secret"] == "***"

    body = orjson.dumps(
        [
            {
                "eventId": 1,
                "propertyValue": "closedwon",
                "objectId": 9,
                "occurredAt": 1770112800000,
            },
            {"eventId": 2, "propertyValue": "appointment", "objectId": 9, "occurredAt": 1},
        ]
    )
    headers = _hs_headers(sid, body)
    first = await client.post(f"/v1/sources/{sid}/webhook", content=body, headers=headers)
    assert first.status_code == 202, first.text
    assert first.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    replay = await client.post(f"/v1/sources/{sid}/webhook", content=body, headers=headers)
    assert replay.status_code == 401
    assert "replayed" in replay.json()["error"]["message"]
    forged = _hs_headers(sid, body, secret="not-the-secret")
    bad = await client.post(f"/v1/sources/{sid}/webhook", content=body, headers=forged)
    assert bad.status_code == 401
    assert "hs-client-secret" not in bad.text

    produced = await read_topic(
        settings.kafka_bootstrap, METRICS_EVENTS.qualified(settings.topic_prefix)
    )
    mine = [e for _, e in produced if e.tenant_id == admin.tenant_id]
    assert Counter(e.id for e in mine) == {"hs:1": 1}
    assert mine[0].data["source_id"] == sid
    assert mine[0].data["time"].startswith("2026-02-03T10:00:00")


async def test_unmappable_stripe_payload_is_dead_lettered_and_listed(
    settings: Settings, client: httpx.AsyncClient, unique: str
) -> None:
    admin = await new_tenant(settings, "admin")
    await wait_key_known(client, admin.key)
    sid = f"stripe-{unique}"
    assert (
        await client.put(f"/v1/sources/{sid}", json=_stripe(), headers=auth(admin.key))
    ).is_success
    good = orjson.dumps(
        {
            "id": "evt_ok",
            "created": 1770112800,
            "data": {"object": {"amount_paid": 4200, "currency": "eur"}},
        }
    )
    broken = orjson.dumps({"id": "evt_broken", "created": 1770112800, "data": {"object": {}}})
    ok = await client.post(
        f"/v1/sources/{sid}/webhook", content=good, headers=_stripe_headers(good)
    )
    assert ok.json()["accepted"] == 1
    rej = await client.post(
        f"/v1/sources/{sid}/webhook", content=broken, headers=_stripe_headers(broken)
    )
    assert rej.status_code == 202
    assert rej.json()["accepted"] == 0
    assert "amount_paid" in rej.json()["rejected"][0]["reason"]

    listed = await client.get(f"/v1/sources/{sid}/rejects", headers=auth(admin.key))
    assert [i["payload"] for i in listed.json()["items"]] == [broken.decode()]
    dead = await read_topic(
        settings.kafka_bootstrap, METRICS_DEAD_LETTER.qualified(settings.topic_prefix)
    )
    mine = [e for _, e in dead if e.tenant_id == admin.tenant_id]
    assert [e.type for e in mine] == ["metric.rejected"]
    assert mine[0].data["source_id"] == sid
    metrics = (await client.get("/metrics")).text
    assert 'metrics_ingest_dead_letters_total{source="stripe"}' in metrics
    assert 'metrics_ingest_events_total{outcome="accepted",source="stripe"}' in metrics


async def test_static_header_sources_and_tenant_isolation(
    settings: Settings, client: httpx.AsyncClient, unique: str
) -> None:
    admin = await new_tenant(settings, "admin")
    other = await new_tenant(settings, "admin")
    ingest = await new_tenant(settings, "ingest")
    for t in (admin, other, ingest):
        await wait_key_known(client, t.key)
    sid = f"dyn-{unique}"
    definition = {
        "kind": "dynamics365",
        "signature": {"scheme": "static_header", "secret": "dyn-shared-key", "header": "X-Dyn-Key"},
        "mapping": [
            {
                "id": "RequestId",
                "metric": "'crm.opportunity.won'",
                "value": "InputParameters[0].value.EstimatedValue",
            }
        ],
    }
    assert (
        await client.put(f"/v1/sources/{sid}", json=definition, headers=auth(ingest.key))
    ).status_code == 403  # a live key of a role that may not manage sources
    assert (
        await client.put(f"/v1/sources/{sid}", json=definition, headers=auth(admin.key))
    ).status_code == 201
    assert (
        await client.put(f"/v1/sources/{sid}", json=definition, headers=auth(other.key))
    ).status_code == 409
    assert (await client.get(f"/v1/sources/{sid}", headers=auth(other.key))).status_code == 404
    assert (await client.get(f"/v1/sources/{sid}", headers=auth(admin.key))).json()[
        "kind"
    ] == "dynamics365"

    body = orjson.dumps(
        {"RequestId": "r-1", "InputParameters": [{"value": {"EstimatedValue": 900}}]}
    )
    hook = f"/v1/sources/{sid}/webhook"
    wrong = await client.post(hook, content=body, headers={"X-Dyn-Key": "nope"})
    assert wrong.status_code == 401
    right = await client.post(hook, content=body, headers={"X-Dyn-Key": "dyn-shared-key"})
    assert right.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    again = await client.post(hook, content=body, headers={"X-Dyn-Key": "dyn-shared-key"})
    assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert (await client.post("/v1/sources/nosuch/webhook", content=body)).status_code == 404


async def test_the_sources_are_listed_with_their_reject_counts(
    settings: Settings, client: httpx.AsyncClient, unique: str
) -> None:
    admin = await new_tenant(settings, "admin")
    other = await new_tenant(settings, "admin")
    await wait_key_known(client, admin.key)
    await wait_key_known(client, other.key)
    bad, good = f"stripe-{unique}", f"hs-{unique}"
    for sid, body in ((bad, _stripe()), (good, _hubspot(good))):
        assert (
            await client.put(f"/v1/sources/{sid}", json=body, headers=auth(admin.key))
        ).is_success
    for n in range(2):
        broken = orjson.dumps({"id": f"evt_{n}", "created": 1770112800, "data": {"object": {}}})
        sent = await client.post(
            f"/v1/sources/{bad}/webhook", content=broken, headers=_stripe_headers(broken)
        )
        assert sent.json()["accepted"] == 0

    listed = await client.get("/v1/sources", headers=auth(admin.key))
    assert listed.status_code == 200, listed.text
    by_id = {s["id"]: s for s in listed.json()["sources"]}
    assert sorted(by_id) == sorted([bad, good])
    assert (by_id[bad]["kind"], by_id[bad]["rejects"]) == ("stripe", 2)
    assert "amount_paid" in by_id[bad]["last_reason"]
    assert by_id[bad]["last_received_at"] is not None
    assert by_id[good] == {
        "id": good,
        "kind": "hubspot",
        "rejects": 0,
        "last_reason": None,
        "last_received_at": None,
    }
    theirs = await client.get("/v1/sources", headers=auth(other.key))
    assert theirs.json() == {"sources": []}
    assert (await client.get("/v1/sources")).status_code == 401
