"""Routes of sources: configure (admin key), read back, list them with their reject counts,
list rejects, receive webhooks."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from kpi_common.db import unit_of_work
from kpi_common.errors import Conflict, NotFound, error_responses
from kpi_common.http import OrjsonResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_ingest import responses as r
from kpi_ingest.api import Deps, authenticate, read_body
from kpi_ingest.keys import ADMIN_ROLES, ANY_ROLE
from kpi_ingest.sources import repository
from kpi_ingest.sources.model import SOURCE_ID_PATTERN, SourceDefinition
from kpi_ingest.sources.webhooks import Delivery, Webhooks

SourceId = Annotated[str, Path(pattern=SOURCE_ID_PATTERN)]


def build_router(
    deps: Deps, sessions: async_sessionmaker[AsyncSession], webhooks: Webhooks
) -> APIRouter:
    router = APIRouter(
        prefix="/v1/sources", responses=error_responses(400, 401, 403, 404, 409, 413, 422, 503)
    )

    async def owned(source_id: str, tenant_id: str) -> SourceDefinition:
        async with unit_of_work(sessions) as session:
            found = await repository.get_source(session, source_id)
        if found is None or found[0] != tenant_id:
            raise NotFound(f"source {source_id}")
        return found[1]

    @router.get("", response_model=r.SourceRejectSummary)
    async def get_reject_summary(request: Request) -> Response:
        grant = authenticate(deps, request, ANY_ROLE)
        async with unit_of_work(sessions) as session:
            found = await repository.reject_summary(session, grant.tenant_id)
        return OrjsonResponse({"sources": found})

    @router.put(
        "/{source_id}",
        response_model=r.SourceAnswer,
        responses={201: {"model": r.SourceAnswer, "description": "Created"}},
    )
    async def put_source(
        source_id: SourceId, definition: SourceDefinition, request: Request
    ) -> Response:
        grant = authenticate(deps, request, ADMIN_ROLES)
        async with unit_of_work(sessions) as session:
            found = await repository.get_source(session, source_id)
            if found is not None and found[0] != grant.tenant_id:
                raise Conflict(f"source id {source_id} is already in use; choose another")
            await repository.put_source(session, source_id, grant.tenant_id, definition)
        body = {"id": source_id, **definition.public(), "webhook_url": _hook(source_id)}
        return OrjsonResponse(body, status_code=200 if found else 201)

    @router.get("/{source_id}", response_model=r.SourceAnswer)
    async def get_source(source_id: SourceId, request: Request) -> Response:
        grant = authenticate(deps, request, ANY_ROLE)
        definition = await owned(source_id, grant.tenant_id)
        return OrjsonResponse(
            {"id": source_id, **definition.public(), "webhook_url": _hook(source_id)}
        )

    @router.get("/{source_id}/rejects", response_model=r.SourceRejects)
    async def get_rejects(
        source_id: SourceId, request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> Response:
        grant = authenticate(deps, request, ANY_ROLE)
        await owned(source_id, grant.tenant_id)
        async with unit_of_work(sessions) as session:
            items = await repository.list_rejects(session, source_id, limit)
        return OrjsonResponse({"items": items})

    @router.post("/{source_id}/webhook", status_code=202, response_model=r.EventsAccepted)
    async def webhook(source_id: SourceId, request: Request) -> Response:
        body = await read_body(request, deps.settings.max_body_bytes)
        delivery = Delivery(source_id, request.method, str(request.url), request.headers, body)
        outcome = await webhooks.receive(delivery)
        return OrjsonResponse(outcome.body(), status_code=202)

    return router


def _hook(source_id: str) -> str:
    return f"/v1/sources/{source_id}/webhook"
