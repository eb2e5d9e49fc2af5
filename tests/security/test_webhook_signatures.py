"""Webhook sources authenticate by signature, not by key: a tampered body, a wrong secret, a
timestamp outside the tolerance or a replayed signature is refused with 401, and the secret
never shows in an answer or in the log."""

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import requests
import structlog

from tests.security.stack import Stack

HUBSPOT_SECRET = "hubspot-client-secret-" + "h" * 16
STRIPE_SECRET = "whsec_stripe-like-secret-" + "s" * 16
STATIC_SECRET = "static-header-key-" + "k" * 16
SECRETS = (HUBSPOT_SECRET, STRIPE_SECRET, STATIC_SECRET)
PUBLIC_URL = "https://ingest.example.com/v1/sources/{id}/webhook"
MAPPING = [
    {
        "for_each": "[*]",
        "id": "to_string(eventId)",
        "metric": "'crm.deal.won'",
        "value": "`1`",
    }
]


def _put(stack: Stack, signature: dict[str, Any]) -> str:
    source_id = f"sig-{uuid.uuid4().hex[:10]}"
    if signature["scheme"] == "hubspot_v3":
        signature = {**signature, "public_url": PUBLIC_URL.format(id=source_id)}
    body = {"kind": "generic", "signature": signature, "mapping": MAPPING}
    resp = stack.call(
        "metrics-ingest", "PUT", f"/v1/sources/{source_id}", stack.a.keys["admin"], json=body
    )
    assert resp.status_code == 201, resp.text
    assert not any(s in resp.text for s in SECRETS), "PUT answered the secret back"
    return source_id


@pytest.fixture(scope="module")
def sources(stack: Stack) -> dict[str, str]:
    return {
        "hubspot": _put(stack, {"scheme": "hubspot_v3", "secret": HUBSPOT_SECRET}),
        "stripe": _put(stack, {"scheme": "stripe_v1", "secret": STRIPE_SECRET}),
        "static": _put(stack, {"scheme": "static_header", "secret": STATIC_SECRET}),
    }


def _payload() -> bytes:
    return orjson.dumps([{"eventId": uuid.uuid4().int % 10**12, "objectId": 7}])


def _post(stack: Stack, source_id: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    resp = stack.call(
        "metrics-ingest",
        "POST",
        f"/v1/sources/{source_id}/webhook",
        data=body,
        headers={"Content-Type": "application/json", **headers},
    )
    assert not any(s in resp.text for s in SECRETS), f"an answer carried a secret: {resp.text}"
    return resp


# --- HubSpot v3 ---------------------------------------------------------------------------


def _hubspot(
    source_id: str, body: bytes, secret: str = HUBSPOT_SECRET, age_ms: int = 0
) -> dict[str, str]:
    timestamp = str(int(time.time() * 1000) - age_ms)
    message = b"POST" + PUBLIC_URL.format(id=source_id).encode() + body + timestamp.encode()
    signature = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest())
    return {"X-HubSpot-Signature-v3": signature.decode(), "X-HubSpot-Request-Timestamp": timestamp}


def test_hubspot_signed_delivery_is_accepted_once(stack: Stack, sources: dict[str, str]) -> None:
    body = _payload()
    headers = _hubspot(sources["hubspot"], body)
    first = _post(stack, sources["hubspot"], body, headers)
    assert first.status_code == 202, first.text
    assert first.json()["accepted"] == 1
    replay = _post(stack, sources["hubspot"], body, headers)
    assert replay.status_code == 401, replay.text
    assert "replayed" in replay.json()["error"]["message"]


@pytest.mark.parametrize(
    "attack",
    ["tampered body", "wrong secret", "timestamp 6 min old", "timestamp 6 min ahead", "unsigned"],
)
def test_hubspot_refuses(stack: Stack, sources: dict[str, str], attack: str) -> None:
    source, body = sources["hubspot"], _payload()
    make: dict[str, Callable[[], dict[str, str]]] = {
        "tampered body": lambda: _hubspot(source, body),
        "wrong secret": lambda: _hubspot(source, body, secret="not-the-secret-at-all"),
        "timestamp 6 min old": lambda: _hubspot(source, body, age_ms=360_000),
        "timestamp 6 min ahead": lambda: _hubspot(source, body, age_ms=-360_000),
        "unsigned": dict,
    }
    headers = make[attack]()
    sent = body.replace(b'"objectId":7', b'"objectId":8') if attack == "tampered body" else body
    resp = _post(stack, source, sent, headers)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "bad_signature"


# --- Stripe-style t=,v1= with the 300 s tolerance -----------------------------------------


def _stripe(
    body: bytes, secret: str = STRIPE_SECRET, age_s: int = 0, extra: str = ""
) -> dict[str, str]:
    t = str(int(time.time()) - age_s)
    v1 = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},{extra}v1={v1}"}


def test_stripe_signed_delivery_is_accepted_once(stack: Stack, sources: dict[str, str]) -> None:
    body = _payload()
    # a rotated secret: the old signature first, the valid one second; any match passes
    headers = _stripe(body, extra="v1=" + "0" * 64 + ",")
    first = _post(stack, sources["stripe"], body, headers)
    assert first.status_code == 202, first.text
    replay = _post(stack, sources["stripe"], body, headers)
    assert replay.status_code == 401, replay.text
    assert "replayed" in replay.json()["error"]["message"]


def test_stripe_within_tolerance_is_accepted(stack: Stack, sources: dict[str, str]) -> None:
    body = _payload()
    resp = _post(stack, sources["stripe"], body, _stripe(body, age_s=240))
    assert resp.status_code == 202, resp.text


@pytest.mark.parametrize(
    "attack",
    ["tampered body", "wrong secret", "timestamp 301 s old", "timestamp 301 s ahead",
     "no v1", "not a header", "unsigned"],
)  # fmt: skip
def test_stripe_refuses(stack: Stack, sources: dict[str, str], attack: str) -> None:
    body = _payload()
    make: dict[str, Callable[[], dict[str, str]]] = {
        "tampered body": lambda: _stripe(body),
        "wrong secret": lambda: _stripe(body, secret="whsec_not-the-secret"),
        "timestamp 301 s old": lambda: _stripe(body, age_s=301),
        "timestamp 301 s ahead": lambda: _stripe(body, age_s=-301),
        "no v1": lambda: {"Stripe-Signature": f"t={int(time.time())}"},
        "not a header": lambda: {"Stripe-Signature": "garbage"},
        "unsigned": dict,
    }
    headers = make[attack]()
    sent = body + b" " if attack == "tampered body" else body
    resp = _post(stack, sources["stripe"], sent, headers)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "bad_signature"


# --- static header key --------------------------------------------------------------------


def test_static_key_is_checked(stack: Stack, sources: dict[str, str]) -> None:
    body = _payload()
    for wrong in ({}, {"X-Api-Key": "not-the-key"}, {"X-Api-Key": STATIC_SECRET[:-1]},
                  {"Authorization": f"Bearer {stack.a.keys['admin']}"}):  # fmt: skip
        resp = _post(stack, sources["static"], body, wrong)
        assert resp.status_code == 401, (wrong, resp.text)
    ok = _post(stack, sources["static"], body, {"X-Api-Key": STATIC_SECRET})
    assert ok.status_code == 202, ok.text
    assert ok.json()["accepted"] == 1, ok.text
    # no per-request signature to replay: a re-sent delivery is caught by the event-id dedup
    again = _post(stack, sources["static"], body, {"X-Api-Key": STATIC_SECRET})
    assert again.status_code == 202, again.text
    assert again.json()["duplicates"] == 1, again.text


# --- the secret stays secret --------------------------------------------------------------


def test_secrets_never_shown_or_logged(stack: Stack, sources: dict[str, str]) -> None:
    admin = stack.a.keys["admin"]
    body = _payload()
    with structlog.testing.capture_logs() as logged:
        _post(stack, sources["hubspot"], body, _hubspot(sources["hubspot"], body, secret="wrong"))
        _post(stack, sources["stripe"], body, _stripe(body, secret="wrong"))
        _post(stack, sources["static"], body, {"X-Api-Key": "wrong"})
    answers = [
        stack.call("metrics-ingest", "GET", f"/v1/sources/{source}", admin)
        for source in sources.values()
    ]
    answers += [
        stack.call("metrics-ingest", "GET", f"/v1/sources/{source}/rejects", admin)
        for source in sources.values()
    ]
    answers.append(stack.call("metrics-ingest", "GET", "/metrics"))
    for resp in answers:
        assert resp.status_code == 200, resp.text
        assert not any(s in resp.text for s in SECRETS), resp.text
    shown = [resp.json()["signature"]["secret"] for resp in answers[:3]]
    assert shown == ["***"] * 3
    refused = [e for e in logged if e["event"] == "webhook signature refused"]
    assert len(refused) == 3, logged
    assert not any(s in repr(logged) for s in SECRETS), logged
