"""The web view's share of the security suite (docs/web.md): its routes are HTML behind a
session cookie, not Bearer keys, so they have a table of their own here instead of rows in
matrix.py. The web app runs in the suite's portal beside the four services and reads them
through their ASGI apps, with the key the viewer signed in with.

- Every route the web app serves is in ROUTES (a new route without a row fails).
- Signing in answers each kind of key as the table says; a page without a session sends to
  the sign-in page.
- With tenant A's keys, tenant B's KPIs and units are 404 pages, and no page A sees carries
  B's ids or tenant id.
"""

from collections.abc import Iterator, Mapping
from typing import Any, cast

import httpx
import pytest
import requests
from fastapi import FastAPI
from kpi_web.config import Settings
from kpi_web.main import create_app
from kpi_web.sessions import COOKIE
from schemathesis.python import asgi

from tests.security.matrix import BAD_KEY
from tests.security.stack import B_MARK, OPERATOR, Stack, wait_for
from tests.security.test_authz_matrix import _routes

READS = ("goals", "evaluator", "notifier")
PAGES = ("/map", "/units", "/units/finance", "/kpis/ar-days", "/reviews",
         "/reviews/quarterly-business-review/pack")  # fmt: skip
ROUTES = {
    ("GET", "/"), ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"),
    ("GET", "/static/web.css"), ("GET", "/map"), ("GET", "/units"),
    ("GET", "/units/{unit_id}"), ("GET", "/kpis/{kpi_id}"), ("GET", "/reviews"),
    ("GET", "/reviews/{review_id}/pack"), ("GET", "/reviews/{review_id}/pack.pdf"),
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
}  # fmt: skip
# what POST /login answers each caller (303: signed in, sent on to the map)
SIGN_IN = {
    "admin": 303, "editor": 303, "editor_unit": 303, "viewer": 303,
    "ingest": 403, "bad": 401, "revoked": 401, "operator": 401, "none": 422,
}  # fmt: skip


class Apps(httpx.AsyncBaseTransport):
    """`http://<service>.internal/...` answered by that service's app in this process."""

    def __init__(self, apps: Mapping[str, FastAPI]) -> None:
        self._by_host = {f"{n}.internal": httpx.ASGITransport(app=apps[n]) for n in READS}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._by_host[request.url.host].handle_async_request(request)


@pytest.fixture(scope="module")
def web(stack: Stack) -> Iterator[asgi.ASGIClient]:
    settings = Settings.model_validate({f"KPI_WEB_{n.upper()}_URL": f"http://{n}.internal"
                                        for n in READS})  # fmt: skip
    app = create_app(settings, transport=Apps(stack.apps))
    client = asgi.get_client(cast(Any, app))
    with client:
        yield client


def _key(stack: Stack, role: str) -> str:
    others = {"none": "", "bad": BAD_KEY, "operator": OPERATOR}
    return others[role] if role in others else stack.a.keys[role]


def sign_in(web: asgi.ASGIClient, key: str) -> requests.Response:
    web.cookies.clear()
    return web.post("/login", data={"key": key, "next": "/map"}, allow_redirects=False)


def session_of(web: asgi.ASGIClient, key: str) -> dict[str, str]:
    answer = sign_in(web, key)
    assert answer.status_code == 303, answer.text
    web.cookies.clear()
    return {"Cookie": f"{COOKIE}={answer.cookies[COOKIE]}"}


def test_every_web_route_is_in_the_table(web: asgi.ASGIClient) -> None:
    assert _routes(cast(FastAPI, web.app).routes) == ROUTES


@pytest.mark.parametrize("role", SIGN_IN)
def test_signing_in_answers_each_caller_as_the_table_says(
    stack: Stack, web: asgi.ASGIClient, role: str
) -> None:
    key = _key(stack, role)
    answer = sign_in(web, key)
    assert answer.status_code == SIGN_IN[role], answer.text
    assert (COOKIE in answer.cookies) == (answer.status_code == 303)
    if key:
        assert key not in answer.text


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_a_session_sends_to_the_sign_in(web: asgi.ASGIClient, path: str) -> None:
    web.cookies.clear()
    answer = web.get(path, allow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next={path}"
    forged = web.get(path, headers={"Cookie": f"{COOKIE}=forged"}, allow_redirects=False)
    assert forged.status_code == 303


@pytest.mark.parametrize("role", ["admin", "viewer", "editor_unit"])
def test_tenant_b_is_invisible_to_tenant_a(stack: Stack, web: asgi.ASGIClient, role: str) -> None:
    cookie = session_of(web, stack.a.keys[role])
    for path in PAGES:
        answer = web.get(path, headers=cookie, allow_redirects=False)
        assert answer.status_code == 200, f"{path}: {answer.text:.300}"
        assert B_MARK not in answer.text
        assert stack.b.tenant_id not in answer.text
    for path in (f"/kpis/{B_MARK}-kpis", f"/units/{B_MARK}-units", *B_PACKS):
        answer = web.get(path, headers=cookie, allow_redirects=False)
        assert answer.status_code == 404, f"{path}: {answer.status_code}"
        assert stack.b.tenant_id not in answer.text


B_PACKS = (f"/reviews/{B_MARK}-review/pack", f"/reviews/{B_MARK}-review/pack.pdf")


@pytest.mark.parametrize("role", ["viewer", "ingest", "bad"])
def test_a_bearer_key_reads_what_its_session_would(
    stack: Stack, web: asgi.ASGIClient, role: str
) -> None:
    """`kpi review-pack` sends its key as Bearer: the same reads, the same refusals."""
    web.cookies.clear()
    bearer = {"Authorization": f"Bearer {_key(stack, role)}"}
    expected = {"viewer": 200, "ingest": 403, "bad": 303}[role]
    for path in ("/map", "/reviews/quarterly-business-review/pack"):
        answer = web.get(path, headers=bearer, allow_redirects=False)
        assert answer.status_code == expected, f"{path}: {answer.status_code}"
    for path in B_PACKS:
        answer = web.get(path, headers=bearer, allow_redirects=False)
        assert answer.status_code in (404 if role == "viewer" else expected,)
        assert stack.b.tenant_id not in answer.text


def test_a_revoked_key_ends_the_session(stack: Stack, web: asgi.ASGIClient) -> None:
    """A session holds the key it was opened with; once goals refuses it, the page sends back
    to the sign-in and the session is gone."""
    admin = stack.a.keys["admin"]
    made = stack.call("goals", "POST", "/v1/api-keys", admin, json={"role": "viewer"})
    assert made.status_code == 201, made.text
    key = made.json()["api_key"]
    # the map reads the evaluator, which learns keys from goals.changes a moment later
    wait_for(lambda: stack.call("evaluator", "GET", "/v1/scorecard", key).status_code == 200)
    cookie = session_of(web, key)
    assert web.get("/map", headers=cookie, allow_redirects=False).status_code == 200
    gone = stack.call("goals", "DELETE", f"/v1/api-keys/{made.json()['key_id']}", admin)
    assert gone.status_code == 200, gone.text
    answer = web.get("/map", headers=cookie, allow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/map"
    assert cookie_closed(web, cookie)


def cookie_closed(web: asgi.ASGIClient, cookie: dict[str, str]) -> bool:
    session_id = cookie["Cookie"].split("=", 1)[1]
    return cast(FastAPI, web.app).state.web.sessions.key_of(session_id) is None
