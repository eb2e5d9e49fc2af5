"""The incident routes of the notifier's API: thin routes over `IncidentCommands`."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from kpi_common.errors import error_responses

from kpi_notifier import responses as r
from kpi_notifier.auth import Principal, principal
from kpi_notifier.incident_commands import IncidentCommands
from kpi_notifier.incidents_repo import IncidentState

router = APIRouter(prefix="/v1", responses=error_responses(400, 401, 403, 404, 422, 503))
Who = Annotated[Principal, Depends(principal)]


def incidents(request: Request) -> IncidentCommands:
    result: IncidentCommands = request.app.state.notifier.incidents
    return result


Cmd = Annotated[IncidentCommands, Depends(incidents)]


@router.get("/incidents", response_model=list[r.Incident])
async def listing(
    who: Who,
    cmd: Cmd,
    state: IncidentState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return await cmd.listing(who, state, limit)


@router.get("/incidents/{incident_id}", response_model=r.Incident)
async def incident(who: Who, cmd: Cmd, incident_id: str) -> dict[str, Any]:
    return await cmd.get(who, incident_id)


@router.post("/incidents/{incident_id}/ack", response_model=r.IncidentAcked)
async def ack(who: Who, cmd: Cmd, incident_id: str) -> dict[str, Any]:
    return await cmd.ack(who, incident_id)
