"""The HTTP pieces every service shares: health, readiness, Prometheus, one error shape."""

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kpi_common.db import DATABASE_ERRORS
from kpi_common.errors import ApiError, FieldError, Unavailable, loc_to_path
from kpi_common.logging import get_logger

log = get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]


class OrjsonResponse(JSONResponse):
    """JSON rendered with orjson. FastAPI 0.165 deprecates its own `ORJSONResponse` (and
    warns on every use, which pytest turns into an error), so the services use this one."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class Readiness:
    """Named dependency checks; `/readyz` answers 503 naming each one that is down."""

    def __init__(self) -> None:
        self._checks: dict[str, ReadinessCheck] = {}

    def add(self, name: str, check: ReadinessCheck) -> None:
        self._checks[name] = check

    async def evaluate(self) -> dict[str, bool]:
        return {name: await check() for name, check in self._checks.items()}


def install_common(app: FastAPI, service: str, readiness: Readiness) -> None:
    """Add /healthz, /readyz, /metrics, request metrics and the error handlers to `app`."""
    prefix = service.replace("-", "_")
    _install_request_metrics(app, prefix)
    _install_error_handlers(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        checks = await readiness.evaluate()
        down = sorted(name for name, ok in checks.items() if not ok)
        body = {"status": "ready" if not down else "unavailable", "checks": checks, "down": down}
        return OrjsonResponse(body, status_code=503 if down else 200)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


_REQUEST_METRICS: dict[str, tuple[Counter, Histogram]] = {}


def _request_metrics(prefix: str) -> tuple[Counter, Histogram]:
    """One pair of collectors per service per process, so building the app again (tests,
    restarts in one process) reuses them instead of registering duplicates."""
    if prefix not in _REQUEST_METRICS:
        requests = Counter(
            f"{prefix}_http_requests_total", "HTTP requests", ["method", "route", "status"]
        )
        latency = Histogram(
            f"{prefix}_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        _REQUEST_METRICS[prefix] = (requests, latency)
    return _REQUEST_METRICS[prefix]


def _install_request_metrics(app: FastAPI, prefix: str) -> None:
    app.add_middleware(RequestMetrics, prefix=prefix)


class RequestMetrics:
    """Count and time every request by route template. Pure ASGI: `@app.middleware("http")`
    (BaseHTTPMiddleware) costs an anyio task group and memory streams per request, about a
    third of the CPU of a small request."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.requests, self.latency = _request_metrics(prefix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.latency.labels(scope["method"], path).observe(time.perf_counter() - start)
            self.requests.labels(scope["method"], path, str(status)).inc()


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> Response:
        return OrjsonResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        errors = [FieldError(loc_to_path(_strip_loc(e["loc"])), e["msg"]) for e in exc.errors()]
        err = ApiError(422, "invalid", "the request is not valid", errors)
        return OrjsonResponse(err.body(), status_code=422)

    async def database_unreachable(request: Request, exc: Exception) -> Response:
        """A database (or other dependency) that cannot be reached is a 503 to retry, not a
        500; any other database error (a constraint, bad SQL) is a bug and stays a 500."""
        if isinstance(exc, DBAPIError) and _is_unstorable_text(exc):
            return OrjsonResponse(UNSTORABLE_TEXT.body(), status_code=UNSTORABLE_TEXT.status)
        if not _is_unreachable(exc):
            raise exc
        log.warning("dependency unreachable", path=request.url.path, error=str(exc)[:200])
        err = Unavailable("the database or another dependency is unreachable; retry later")
        return OrjsonResponse(err.body(), status_code=err.status, headers=err.headers)

    kinds: tuple[type[Exception], ...] = (DBAPIError, *DATABASE_ERRORS)
    for kind in kinds:
        app.add_exception_handler(kind, database_unreachable)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        err = ApiError(exc.status_code, code, str(exc.detail))
        return OrjsonResponse(err.body(), status_code=exc.status_code, headers=exc.headers)


# PostgreSQL cannot store NUL (U+0000) in text; a request carrying one is the caller's error
UNSTORABLE_TEXT = ApiError(
    422,
    "invalid",
    "a text value of the request (path, query or body) contains a NUL character (\\u0000), "
    "which text fields cannot hold",
)


def _is_unstorable_text(exc: DBAPIError) -> bool:
    # character_not_in_repertoire, untranslatable_character
    return getattr(exc.orig, "sqlstate", None) in ("22021", "22P05")


def _is_unreachable(exc: Exception) -> bool:
    invalidated = isinstance(exc, DBAPIError) and exc.connection_invalidated
    return invalidated or isinstance(exc, DATABASE_ERRORS)


def _strip_loc(loc: Any) -> list[int | str]:
    """Drop FastAPI's leading `body`/`query` so paths read like the document's own fields."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return parts
