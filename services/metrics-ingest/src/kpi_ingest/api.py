"""HTTP routes of the intake: decode, call one handler, map the outcome."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, FastAPI, Request, Response
from kpi_common.apikeys import bearer_token
from kpi_common.errors import Unauthorized, error_responses
from kpi_common.http import OrjsonResponse

from kpi_ingest import metrics
from kpi_ingest.config import Settings
from kpi_ingest.errors import PayloadTooLarge, RateLimited, TooManyEvents
from kpi_ingest.events import Limits, check_all
from kpi_ingest.ingest import Clock, Intake
from kpi_ingest.intake import decode_body
from kpi_ingest.keycache import KeyCache
from kpi_ingest.keys import INGEST_ROLES, KeyGrant
from kpi_ingest.ratelimit import RateLimiter


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
        max_dimensions=settings.max_dimensions,
        max_dimension_key_chars=settings.max_dimension_key_chars,
        max_dimension_value_chars=settings.max_dimension_value_chars,
    )


def authenticate(deps: Deps, request: Request, roles: frozenset[str]) -> KeyGrant:
    grant = deps.keys.ring.authenticate(bearer_token(request.headers.get("authorization")), roles)
    if grant is None:
        raise Unauthorized()
    return grant


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing with 413 as soon as it passes `limit` bytes (declared or sent)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def build_router(deps: Deps) -> APIRouter:
    router = APIRouter(responses=error_responses(400, 401, 413, 415, 422, 429, 503))
    limits = limits_of(deps.settings)

    @router.post("/v1/events", status_code=202)
    async def post_events(request: Request) -> Response:
        grant = authenticate(deps, request, INGEST_ROLES)
        body = await read_body(request, deps.settings.max_body_bytes)
        items = decode_body(request.headers.get("content-type"), body, request.headers)
        if len(items) > deps.settings.max_events:
            raise TooManyEvents(len(items), deps.settings.max_events)
        wait = deps.limiter.take(grant.key_id, len(items), deps.monotonic())
        if wait:
            metrics.RATE_LIMITED.inc()
            raise RateLimited(wait)
        checked = check_all(items, limits, deps.clock())
        outcome = await deps.intake.accept(grant.tenant_id, "api", checked.events, checked.rejected)
        return OrjsonResponse(outcome.body(), status_code=202)

    return router


def install(app: FastAPI, deps: Deps) -> None:
    app.include_router(build_router(deps))
