"""Hostile payloads: oversized bodies (413 naming the limit), deeply nested JSON and YAML,
huge numbers, NaN and Infinity, long strings and many dimensions. Each is refused cleanly:
a 4xx in the one error shape, or the event rejected with its reason; never a 5xx."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import requests

from tests.security.stack import Stack

INGEST_LIMIT = 1_048_576  # KPI_INGEST_MAX_BODY_BYTES default
GOALS_LIMIT = 5_000_000  # KPI_GOALS_MAX_DOCUMENT_BYTES default


def _error(resp: requests.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text[:500]
    error: dict[str, Any] = resp.json()["error"]
    assert set(error) == {"code", "message", "errors"}, error
    return error


def _events(stack: Stack, body: bytes | Iterator[bytes], **headers: str) -> requests.Response:
    return stack.call(
        "metrics-ingest",
        "POST",
        "/v1/events",
        stack.a.keys["ingest"],
        data=body,
        headers={"Content-Type": "application/json", **headers},
    )


def _event(**fields: Any) -> dict[str, Any]:
    return {"id": f"p-{uuid.uuid4().hex}", "metric": "crm.deal.won", "value": 1, **fields}


# --- oversized bodies ---------------------------------------------------------------------


def test_declared_oversized_event_body_is_413_naming_the_limit(stack: Stack) -> None:
    body = b"[" + b" " * INGEST_LIMIT + b"]"
    error = _error(_events(stack, body), 413)
    assert error["code"] == "payload_too_large"
    assert str(INGEST_LIMIT) in error["message"]


def test_streamed_oversized_event_body_is_413_while_reading(stack: Stack) -> None:
    """No Content-Length (chunked): the limit is enforced on the bytes as they arrive."""

    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(20):
            yield b" " * 65_536
        yield b"]"

    error = _error(_events(stack, chunks()), 413)
    assert str(INGEST_LIMIT) in error["message"]


def test_oversized_webhook_body_is_413(stack: Stack) -> None:
    resp = stack.call(
        "metrics-ingest",
        "POST",
        f"/v1/sources/{stack.a.source_id}/webhook",
        data=b" " * (INGEST_LIMIT + 1),
        headers={"Content-Type": "application/json"},
    )
    assert str(INGEST_LIMIT) in _error(resp, 413)["message"]


def test_oversized_strategy_document_is_413_naming_the_limit(stack: Stack) -> None:
    body = b"# " + b"x" * GOALS_LIMIT + b"\n"
    resp = stack.call(
        "goals", "PUT", "/v1/strategy", stack.a.keys["admin"], data=body,
        headers={"Content-Type": "application/yaml"},
    )  # fmt: skip
    assert str(GOALS_LIMIT) in _error(resp, 413)["message"]


# --- deep nesting -------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_event_json_is_refused(stack: Stack, depth: int) -> None:
    body = b"[" * depth + b"]" * depth
    resp = _events(stack, body)
    if depth > 1_000:
        assert _error(resp, 400)["code"] == "malformed"
    else:  # parsed, but no element is an event
        assert resp.status_code == 202, resp.text
        assert resp.json()["accepted"] == 0


def test_deeply_nested_dimension_is_rejected_with_its_reason(stack: Stack) -> None:
    nested: Any = "leaf"
    for _ in range(500):
        nested = {"a": nested}
    resp = _events(stack, json.dumps([_event(dimensions={"region": nested})]).encode())
    assert resp.status_code == 202, resp.text
    assert [r["index"] for r in resp.json()["rejected"]] == [0]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"[" * 100_000 + b"]" * 100_000),
        ("application/json", b'{"units": ' + b"[" * 1_000 + b"]" * 1_000 + b"}"),
        ("application/yaml", b"[" * 100_000 + b"]" * 100_000),
        ("application/yaml", b"a:\n" + b"".join(b" " * i + b"b:\n" for i in range(1, 1_500))),
    ],
    ids=["json", "json 1000 deep", "yaml flow", "yaml block"],
)
def test_deeply_nested_strategy_document_is_refused(
    stack: Stack, content_type: str, body: bytes
) -> None:
    resp = stack.call(
        "goals", "PUT", "/v1/strategy", stack.a.keys["admin"], data=body,
        headers={"Content-Type": content_type},
    )  # fmt: skip
    assert _error(resp, 422)["code"] == "invalid"


def test_deeply_nested_notifier_body_is_refused(stack: Stack) -> None:
    body = b'{"matchers": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    resp = stack.call(
        "notifier", "POST", "/v1/silences", stack.a.keys["admin"], data=body,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert 400 <= resp.status_code < 500, resp.text[:300]


def test_deeply_nested_webhook_payload_is_dead_lettered(stack: Stack) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    resp = stack.call(
        "metrics-ingest",
        "POST",
        f"/v1/sources/{stack.a.source_id}/webhook",
        data=body,
        headers={"Content-Type": "application/json", "X-Api-Key": "static-secret-of-the-suite"},
    )
    assert resp.status_code == 202, resp.text[:300]
    assert resp.json()["accepted"] == 0


# --- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_literals_are_malformed(stack: Stack, literal: bytes) -> None:
    body = b'{"id": "n-1", "metric": "crm.deal.won", "value": ' + literal + b"}"
    assert _error(_events(stack, body), 400)["code"] == "malformed"


@pytest.mark.parametrize("number", [b"1e309", b"-1e309", b"1" + b"0" * 400, b"1e-400"])
def test_huge_numbers_never_5xx(stack: Stack, number: bytes) -> None:
    body = b'{"id": "h-' + uuid.uuid4().hex.encode() + b'", "metric": "m.x", "value": ' + number
    resp = _events(stack, body + b"}")
    assert resp.status_code in (202, 400), resp.text
    if resp.status_code == 202 and number != b"1e-400":
        assert resp.json()["rejected"][0]["reason"].startswith("value"), resp.text


def test_huge_numbers_in_query_and_strategy_never_5xx(stack: Stack) -> None:
    admin = stack.a.keys["admin"]
    for path, params in [
        ("/v1/units", {"limit": "9" * 400}),
        ("/v1/kpis/ar-days/targets", {"as_of": "99999-01-01"}),
    ]:
        resp = stack.call("goals", "GET", path, admin, params=params)
        assert resp.status_code == 422, resp.text
    series = {"from": "9" * 400, "to": "2026-01-01T00:00:00Z"}
    resp = stack.call("evaluator", "GET", "/v1/kpis/ar-days/series", admin, params=series)
    assert resp.status_code == 422, resp.text
    resp = stack.call("evaluator", "GET", "/v1/scorecard", admin, params={"period": "9" * 400})
    assert resp.status_code in (404, 422), resp.text


# --- long strings and many dimensions -----------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"id": "i" * 100_000}, "id"),
        ({"metric": "m" * 100_000}, "metric"),
        ({"dimensions": {"region": "r" * 100_000}}, "dimensions"),
        ({"dimensions": {"k" * 10_000: "v"}}, "dimensions"),
        ({"dimensions": {f"d{i}": i for i in range(10_000)}}, "dimensions"),
        ({"time": "2026-" + "0" * 100_000}, "time"),
    ],
    ids=["id", "metric", "dimension value", "dimension name", "10000 dimensions", "time"],
)
def test_long_strings_and_many_dimensions_are_rejected(
    stack: Stack, fields: dict[str, Any], reason: str
) -> None:
    resp = _events(stack, orjson.dumps([_event(**fields)]))
    assert resp.status_code == 202, resp.text[:300]
    rejected = resp.json()["rejected"]
    assert [r["index"] for r in rejected] == [0]
    assert rejected[0]["reason"].startswith(reason), rejected
    assert len(rejected[0]["reason"]) < 1_000, "the reason echoes the whole value"


def test_long_strings_elsewhere_are_422(stack: Stack) -> None:
    admin = stack.a.keys["admin"]
    silence = {"matchers": {}, "ends_at": "2099-01-01T00:00:00Z", "comment": "c" * 100_000}
    resp = stack.call("notifier", "POST", "/v1/silences", admin, json=silence)
    assert _error(resp, 422)["errors"][0]["path"] == "comment"
    resp = stack.call(
        "goals", "POST", "/v1/api-keys", admin, json={"role": "viewer", "name": "n" * 100_000}
    )
    assert _error(resp, 422)["errors"][0]["path"] == "name"
    resp = stack.call("goals", "PUT", "/v1/strategy", admin, params={"reason": "r" * 100_000})
    assert _error(resp, 422)["errors"][0]["path"] == "reason"
    resp = stack.call("goals", "GET", f"/v1/kpis/{'k' * 50_000}", admin)
    assert _error(resp, 404)["code"] == "not_found"
