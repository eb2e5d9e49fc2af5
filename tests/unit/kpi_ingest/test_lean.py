"""The lean path of POST /v1/events (kpi_ingest.lean.LeanRoute) answers exactly what the
FastAPI route answers, errors included, counts in the request metrics under the route, and
leaves every other request to the framework."""

from collections.abc import AsyncIterable, Mapping

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from kpi_common.errors import Unauthorized
from kpi_common.http import OrjsonResponse, Readiness, install_common
from kpi_ingest.lean import serve_lean
from prometheus_client import REGISTRY


async def handler(headers: Mapping[str, str], chunks: AsyncIterable[bytes]) -> Response:
    body = b"".join([c async for c in chunks])
    if headers.get("authorization") != "Bearer ok":
        raise Unauthorized()
    if body == b"boom":
        raise ConnectionError("the database went away")
    return OrjsonResponse({"got": body.decode()}, status_code=202)


def app_with(lean: bool) -> FastAPI:
    app = FastAPI()
    router = APIRouter()

    @router.post("/v1/events", status_code=202)
    async def post(request: Request) -> Response:
        assert not lean, "the lean path must serve POST /v1/events, not the router"
        return await handler(request.headers, request.stream())

    app.include_router(router)
    if lean:
        serve_lean(app, router.routes[-1], handler)
    install_common(app, "lean-test", Readiness())
    return app


async def answers(app: FastAPI, method: str, path: str, **kw: object) -> tuple[object, ...]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.request(method, path, **kw)  # type: ignore[arg-type]
    return r.status_code, sorted(r.headers.items()), r.content


async def test_the_lean_path_answers_what_the_route_answers() -> None:
    cases: list[tuple[str, str, dict[str, object]]] = [
        ("POST", "/v1/events", {"content": b"[1]", "headers": {"Authorization": "Bearer ok"}}),
        ("POST", "/v1/events", {"content": b"[1]"}),
        ("POST", "/v1/events", {"content": b"boom", "headers": {"Authorization": "Bearer ok"}}),
        ("GET", "/v1/events", {}),
        ("POST", "/v1/events/", {"content": b"[]"}),
    ]
    for method, path, kw in cases:
        assert await answers(app_with(True), method, path, **kw) == await answers(
            app_with(False), method, path, **kw
        )


async def test_the_lean_path_counts_in_the_request_metrics_under_its_route() -> None:
    labels = {"method": "POST", "route": "/v1/events", "status": "401"}
    before = REGISTRY.get_sample_value("lean_test_http_requests_total", labels) or 0
    await answers(app_with(True), "POST", "/v1/events", content=b"[]")
    assert REGISTRY.get_sample_value("lean_test_http_requests_total", labels) == before + 1
