"""The notifier's HTTP API: thin routes over `Commands`."""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from kpi_common.errors import error_responses
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kpi_notifier import responses as r
from kpi_notifier.auth import Principal, principal
from kpi_notifier.commands import Commands
from kpi_notifier.queries import Queries

router = APIRouter(prefix="/v1", responses=error_responses(400, 401, 403, 404, 409, 422, 503))
Who = Annotated[Principal, Depends(principal)]
OneOrMany = str | list[str]


class Matchers(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: OneOrMany | None = None
    kpi: OneOrMany | None = None
    perspective: OneOrMany | None = None
    severity: OneOrMany | None = None
    breach_id: OneOrMany | None = None


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: Matchers
    ends_at: AwareDatetime
    comment: str | None = Field(default=None, max_length=1000)


class TestNotificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(min_length=1, description="a person id or a named alert channel")
    note: str | None = Field(default=None, max_length=500)


class ReviewHeldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date | None = None


class ScorecardDigestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: str = Field(min_length=1, description="its owner gets the unit subtree's scorecard")


def commands(request: Request) -> Commands:
    result: Commands = request.app.state.notifier.commands
    return result


Cmd = Annotated[Commands, Depends(commands)]


def queries(request: Request) -> Queries:
    result: Queries = request.app.state.notifier.queries
    return result


Views = Annotated[Queries, Depends(queries)]
Status = Literal["pending", "sending", "sent", "dead", "suppressed", "cancelled"]


@router.get("/notifications", response_model=list[r.Delivery])
async def notifications(
    who: Who,
    cmd: Cmd,
    status: Status | None = None,
    breach_id: str | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return await cmd.notifications(who, status=status, breach_id=breach_id, kind=kind, limit=limit)


@router.post("/notifications/{delivery_id}/resend", status_code=202, response_model=r.Resent)
async def resend(
    who: Who, cmd: Cmd, delivery_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> dict[str, Any]:
    return await cmd.resend(who, delivery_id)


@router.get("/breaches", response_model=r.ManyBreaches, response_model_exclude_unset=True)
async def breaches(
    who: Who, cmd: Cmd, breach_id: Annotated[list[str], Query(min_length=1, max_length=1000)]
) -> dict[str, Any]:
    return {"breaches": await cmd.breaches(who, breach_id)}


@router.get(
    "/breaches/{breach_id}", response_model=r.BreachAnswer, response_model_exclude_unset=True
)
async def breach(who: Who, cmd: Cmd, breach_id: str) -> dict[str, Any]:
    return await cmd.breach(who, breach_id)


@router.post("/breaches/{breach_id}/ack", response_model=r.Acked)
async def ack(who: Who, cmd: Cmd, breach_id: str) -> dict[str, Any]:
    return await cmd.ack(who, breach_id)


@router.post("/silences", status_code=201, response_model=r.Silence)
async def add_silence(who: Who, cmd: Cmd, body: SilenceIn) -> dict[str, Any]:
    silence = {"matchers": body.matchers.model_dump(exclude_none=True), "ends_at": body.ends_at}
    return await cmd.add_silence(who, {**silence, "comment": body.comment})


@router.get("/silences", response_model=list[r.Silence])
async def silences(who: Who, cmd: Cmd) -> list[dict[str, Any]]:
    return await cmd.silences(who)


@router.delete("/silences/{silence_id}", status_code=204)
async def delete_silence(who: Who, cmd: Cmd, silence_id: str) -> Response:
    await cmd.delete_silence(who, silence_id)
    return Response(status_code=204)


@router.post("/test-notification", status_code=202, response_model=r.TestQueued)
async def test_notification(who: Who, cmd: Cmd, body: TestNotificationIn) -> dict[str, Any]:
    return await cmd.test_notification(who, body.to, body.note)


@router.get("/reviews", response_model=list[r.ReviewStatus])
async def reviews(who: Who, cmd: Cmd) -> list[dict[str, Any]]:
    return await cmd.reviews(who)


@router.get("/findings", response_model=r.Findings)
async def findings(who: Who, cmd: Cmd) -> dict[str, Any]:
    return await cmd.findings(who)


@router.post("/reviews/{review_id}/held", response_model=r.ReviewHeld)
async def review_held(
    who: Who, cmd: Cmd, review_id: str, body: ReviewHeldIn | None = None
) -> dict[str, Any]:
    return await cmd.review_held(who, review_id, body.date if body else None)


@router.post("/scorecard-digests", status_code=201, response_model=r.DigestSubscribed)
async def subscribe_scorecard(who: Who, cmd: Cmd, body: ScorecardDigestIn) -> dict[str, Any]:
    return await cmd.subscribe_scorecard(who, body.unit)


@router.get("/scorecard-digests", response_model=list[r.DigestListed])
async def scorecard_subscriptions(who: Who, cmd: Cmd) -> list[dict[str, Any]]:
    return await cmd.scorecard_subscriptions(who)


@router.delete("/scorecard-digests/{unit_id}", status_code=204)
async def unsubscribe_scorecard(who: Who, cmd: Cmd, unit_id: str) -> Response:
    await cmd.unsubscribe_scorecard(who, unit_id)
    return Response(status_code=204)


@router.get("/shadow", response_model=list[r.ShadowEntry])
async def shadow(
    who: Who,
    views: Views,
    route: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    since: AwareDatetime | None = None,
    breach_id: str | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    filters = {"route": route, "since": since, "breach_id": breach_id, "kind": kind}
    return await views.shadow(who, **filters, limit=limit)


@router.get("/inbox", response_model=r.Inbox)
async def inbox(
    who: Who, views: Views, person: Annotated[str, Query(min_length=1, max_length=200)]
) -> dict[str, Any]:
    return await views.inbox(who, person)
