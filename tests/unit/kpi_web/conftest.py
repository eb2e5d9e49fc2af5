"""The web app in process, its upstream services answered from canned answers of the real
ones (captured from an acme stack into `answers/`), through httpx's mock transport."""

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from kpi_web.config import Settings
from kpi_web.main import create_app

ANSWERS = Path(__file__).parent / "answers"
VIEWER = "kpi_viewer-key-of-the-test"
Route = Callable[[httpx.Request], httpx.Response]


def answer(name: str) -> Any:
    return json.loads((ANSWERS / f"{name}.json").read_text())


class Upstream:
    """Canned answers by (host, path); requests are recorded. A key other than VIEWER is 401."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Any] = {
            ("goals.test", "/v1/strategy"): answer("strategy"),
            ("evaluator.test", "/v1/scorecard"): answer("scorecard"),
            ("evaluator.test", "/v1/kpis/new-clients/series"): answer("series-new-clients"),
            ("goals.test", "/v1/kpis/new-clients/history"): answer("history-new-clients"),
            ("goals.test", "/v1/cascade"): answer("cascade-new-clients"),
            ("goals.test", "/v1/kpis/new-clients"): answer("kpi-new-clients"),
            ("notifier.test", "/v1/breaches/cf86c932-039e-56d4-b1b9-b5b9624a25c4"): answer(
                "breach-new-clients"
            ),
        }
        self.seen: list[httpx.Request] = []
        self.down: set[str] = set()  # hosts that refuse the connection

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.url.host in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/healthz":
            return httpx.Response(200, json={"status": "ok"})
        if request.headers.get("authorization") != f"Bearer {VIEWER}":
            return httpx.Response(401, json={"error": {"code": "unauthorized", "message": "no"}})
        if request.url.path == "/v1/breaches":  # several at once: those it knows
            ids = request.url.params.get_list("breach_id")
            known = [self.routes.get(("notifier.test", f"/v1/breaches/{i}")) for i in ids]
            return httpx.Response(200, json={"breaches": [b for b in known if b is not None]})
        unit = request.url.params.get("unit")
        if unit == "sales":
            return httpx.Response(200, json=answer("scorecard-sales"))
        found = None if unit else self.routes.get((request.url.host, request.url.path))
        if found is None:
            message = {"error": {"code": "not_found", "message": f"{request.url.path} not found"}}
            return httpx.Response(404, json=message)
        return httpx.Response(200, json=found)


@pytest.fixture
def upstream() -> Upstream:
    return Upstream()


@pytest.fixture
async def client(upstream: Upstream) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings.model_validate(
        {
            "KPI_WEB_GOALS_URL": "http://goals.test",
            "KPI_WEB_EVALUATOR_URL": "http://evaluator.test",
            "KPI_WEB_NOTIFIER_URL": "http://notifier.test",
        }
    )
    app = create_app(settings, transport=httpx.MockTransport(upstream))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as http:
        yield http


async def sign_in(client: httpx.AsyncClient, key: str = VIEWER) -> httpx.Response:
    return await client.post("/login", data={"key": key, "next": "/map"})
