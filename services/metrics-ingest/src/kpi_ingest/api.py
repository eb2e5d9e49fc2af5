"""HTTP routes of the intake: decode, call one handler, map the outcome."""

import time
from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, FastAPI, Request, Response
from kpi_common.apikeys import bearer_token
from kpi_common.errors import Forbidden, Unauthorized, error_responses
from kpi_common.http import OrjsonResponse

from kpi_ingest import metrics
from kpi_ingest.config import Settings
from kpi_ingest.errors import PayloadTooLarge, RateLimited, TooManyEvents
from kpi_ingest.events import Limits, check_all
from kpi_ingest.ingest import Clock, Intake
from kpi_ingest.intake import decode_body
from kpi_ingest.keycache import KeyCache
from kpi_ingest.keys import INGEST_ROLES, KeyGrant, wrong_role
from kpi_ingest.lean import serve_lean
from kpi_ingest.ratelimit import RateLimiter
from kpi_ingest.responses import EventsAccepted

EVENTS_PATH = "/v1/events"


@dataclass(frozen=True)
class Deps:
    settings: Settings
    keys: KeyCache
    limiter: RateLimiter
    intake: Intake
    clock: Clock
    monotonic: Callable[[], float] = time.monotonic


def limits_of(settings: Settings) -> Limits:
    return Limits(
        max_future=timedelta(minutes=settings.max_future_minutes),
        archive_retention_months=settings.archive_retention_months,
        max_dimensions=settings.max_dimensions,
        max_dimension_key_chars=settings.max_dimension_key_chars,
        max_dimension_value_chars=settings.max_dimension_value_chars,
    )


def authenticate(deps: Deps, request: Request, roles: frozenset[str]) -> KeyGrant:
    return grant_of(deps, request.headers, roles)


def grant_of(deps: Deps, headers: Mapping[str, str], roles: frozenset[str]) -> KeyGrant:
    """The caller's grant: 401 for no, an unknown or a revoked key; 403 naming the roles
    needed for a live key of another role."""
    token = bearer_token(headers.get("authorization"))
    grant = deps.keys.ring.authenticate(token, roles)
    if grant is None:
        live = deps.keys.ring.live(token)
        if live is not None:
            raise Forbidden(wrong_role(live.role, roles))
        raise Unauthorized()
    return grant


async def read_body(request: Request, limit: int) -> bytes:
    return await read_stream(request.headers, request.stream(), limit)


async def read_stream(
    headers: Mapping[str, str], chunks: AsyncIterable[bytes], limit: int
) -> bytes:
    """The body, refusing with 413 as soon as it passes `limit` bytes (declared or sent)."""
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        parts.append(chunk)
    return b"".join(parts)


@dataclass(frozen=True)
class PostEvents:
    """`POST /v1/events`, called by the FastAPI route and by the lean path (kpi_ingest.lean)
    alike: the headers and the body's chunks in, the response out; errors are raised."""

    deps: Deps
    limits: Limits

    async def __call__(self, headers: Mapping[str, str], chunks: AsyncIterable[bytes]) -> Response:
        settings = self.deps.settings
        grant = grant_of(self.deps, headers, INGEST_ROLES)
        body = await read_stream(headers, chunks, settings.max_body_bytes)
        items = decode_body(headers.get("content-type"), body, headers)
        if len(items) > settings.max_events:
            raise TooManyEvents(len(items), settings.max_events)
        self._take(grant, len(items))
        checked = check_all(items, self.limits, self.deps.clock())
        outcome = await self.deps.intake.accept(
            grant.tenant_id, "api", checked.events, checked.rejected
        )
        return OrjsonResponse(outcome.body(), status_code=202)

    def _take(self, grant: KeyGrant, events: int) -> None:
        wait = self.deps.limiter.take(grant.key_id, events, self.deps.monotonic())
        if wait:
            metrics.RATE_LIMITED.inc()
            raise RateLimited(wait)


def build_router(handler: PostEvents) -> APIRouter:
    """The route that documents `POST /v1/events` (OpenAPI) and serves it wherever the lean
    path does not (it only takes the exact path)."""
    router = APIRouter(responses=error_responses(400, 401, 403, 413, 415, 422, 429, 503))

    @router.post(EVENTS_PATH, status_code=202, response_model=EventsAccepted)
    async def post_events(request: Request) -> Response:
        return await handler(request.headers, request.stream())

    return router


def install(app: FastAPI, deps: Deps) -> None:
    """The route, and in front of the framework's routing the lean path that serves it. Call
    before `install_common`, so that the request metrics stay outside the lean path."""
    handler = PostEvents(deps, limits_of(deps.settings))
    router = build_router(handler)
    app.include_router(router)
    serve_lean(app, router.routes[-1], handler)
