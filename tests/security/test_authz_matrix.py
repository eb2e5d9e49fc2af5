"""The authorisation matrix (tests/security/matrix.py): every route of every service x every
kind of caller, on tenant A's objects and on tenant B's.

- The table names every route the apps serve, so a new route without a row fails.
- Each (route, caller) gets exactly the status written in the table.
- With A's keys, B's objects answer 404 (not 403), and nothing A is answered ever carries B's
  ids or tenant id; B's objects are unchanged afterwards.
"""

from collections.abc import Sequence

import pytest
import requests
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route

from tests.security.matrix import ROLES, ROWS, Req, Row, token_of
from tests.security.stack import B_MARK, SERVICES, Stack


def _routes(routes: Sequence[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every route, inside included routers too (FastAPI keeps an included
    router as one entry holding the original router)."""
    out = set()
    for route in routes:
        if isinstance(route, APIRoute | Route):
            methods = (route.methods or set()) - {"HEAD"}
            out |= {(method, prefix + route.path) for method in methods}
        elif (inner := getattr(route, "original_router", None)) is not None:
            context = getattr(route, "include_context", None)
            out |= _routes(inner.routes, prefix + getattr(context, "prefix", ""))
        else:
            raise AssertionError(f"a route of a kind the matrix cannot read: {route!r}")
    return out


def _send(stack: Stack, row: Row, req: Req, token: str | None) -> requests.Response:
    return stack.call(
        row.service,
        row.method,
        req.path,
        token,
        json=req.json,
        params=req.params,
        headers=req.headers,
        data=req.data,
    )


def _leaks(stack: Stack, resp: requests.Response, asked: str = "") -> bool:
    """Whether the answer carries tenant B's data (an error naming the very id asked for, in
    the path or a query parameter, tells nothing new, so that echo is left out)."""
    text = resp.text
    for part in asked.split("/"):
        if B_MARK in part:
            text = text.replace(part, "")
    return B_MARK in text or stack.b.tenant_id in text


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_has_a_row(stack: Stack, service: str) -> None:
    served = _routes(stack.apps[service].routes)
    table = {(r.method, r.path) for r in ROWS if r.service == service}
    assert served - table == set(), "routes without a row in the authorisation table"
    assert table - served == set(), "rows for routes the service does not serve"


def test_every_row_names_every_caller() -> None:
    assert [r for r in ROWS if set(r.expected) != set(ROLES)] == []


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.service} {r.method} {r.path}")
def test_route_answers_each_caller_as_the_table_says(stack: Stack, row: Row) -> None:
    wrong = []
    for role in ROLES:
        resp = _send(stack, row, row.build(stack, stack.a), token_of(stack, role))
        if resp.status_code != row.expected[role]:
            wrong.append(
                f"{role}: {resp.status_code} (table: {row.expected[role]}) {resp.text:.200}"
            )
        assert not _leaks(stack, resp), f"{role} saw tenant B's data: {resp.text:.300}"
    assert wrong == [], "\n".join(wrong)


FOREIGN = [r for r in ROWS if r.foreign is not None]
# the keys that reach the object lookup: every role the row lets through, and the scoped
# editor (which must learn nothing from B's objects either)
FOREIGN_ROLES = ("admin", "editor", "editor_unit", "viewer", "ingest")


@pytest.mark.parametrize("row", FOREIGN, ids=lambda r: f"{r.service} {r.method} {r.path}")
def test_other_tenants_objects_answer_404(stack: Stack, row: Row) -> None:
    assert row.foreign is not None
    wrong = []
    for role in FOREIGN_ROLES:
        scoped_out = role == "editor_unit" and row.expected["editor"] < 300
        if row.expected[role] >= 300 and not scoped_out:
            continue  # refused for its role before any object is looked up
        req = row.foreign(stack, stack.b)
        resp = _send(stack, row, req, token_of(stack, role))
        if resp.status_code != row.foreign_status:
            wrong.append(f"{role}: {resp.status_code} {resp.text:.200}")
        assert not _leaks(stack, resp, "/".join([req.path, *req.params.values()])), resp.text
    assert wrong == [], "\n".join(wrong)


def test_tenant_b_is_untouched(stack: Stack) -> None:
    """After every attempt of A's keys on B's objects (run by the tests above in this
    session, or here again), B still has each of them as it was."""
    for row in FOREIGN:
        assert row.foreign is not None
        req = row.foreign(stack, stack.b)
        _send(stack, row, req, stack.a.keys["admin"])
    b, admin = stack.b, stack.b.keys["admin"]
    breach = stack.call("notifier", "GET", f"/v1/breaches/{b.breach_id}", admin)
    assert breach.status_code == 200, breach.text
    assert breach.json()["acked_at"] is None, breach.text
    silences = stack.call("notifier", "GET", "/v1/silences", admin).json()
    assert b.silence_id in [s["id"] for s in silences]
    digests = stack.call("notifier", "GET", "/v1/scorecard-digests", admin).json()
    assert {"unit": b.digest_unit} in digests
    keys = stack.call("goals", "GET", "/v1/api-keys", admin).json()["items"]
    viewer = next(k for k in keys if k["key_id"] == b.key_ids["viewer"])
    assert viewer["revoked"] is False, viewer
    source = stack.call("metrics-ingest", "GET", f"/v1/sources/{b.source_id}", admin)
    assert source.status_code == 200, source.text
    assert source.json()["mapping"][0]["metric"] == "'crm.deal.won'", source.text
