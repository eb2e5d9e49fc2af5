"""HTTP routes of the goals service: decode, call one handler, encode."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from kpi_common.apikeys import bearer_token
from kpi_common.errors import ApiError, error_responses
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kpi_goals import handlers, reads, tenancy
from kpi_goals import responses as r
from kpi_goals.access import Principal, Role
from kpi_goals.document import StrategyDocument
from kpi_goals.handlers import Deps
from kpi_goals.nodes import to_document
from kpi_goals.parsing import parse

router = APIRouter(prefix="/v1", responses=error_responses(400, 401, 403, 404, 409, 413, 422, 503))
RESOURCES = {
    "units": "unit",
    "people": "person",
    "goals": "goal",
    "objectives": "objective",
    "success-factors": "success_factor",
    "kpis": "kpi",
    "reviews": "review",
}


def deps(request: Request) -> Deps:
    found: Deps = request.app.state.deps
    return found


async def principal(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    return await tenancy.authenticate(deps(request), bearer_token(authorization))


DepsArg = Annotated[Deps, Depends(deps)]
Who = Annotated[Principal, Depends(principal)]


class NewTenant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    unit: str | None = None
    name: str | None = Field(default=None, max_length=200)


@router.post("/tenants", status_code=201, response_model=r.TenantCreatedAnswer)
async def create_tenant(
    body: NewTenant, d: DepsArg, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    tenancy.check_operator(d, bearer_token(authorization))
    return await tenancy.create_tenant(d, body.slug)


class NewAdminKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)


@router.post("/tenants/{tenant}/admin-keys", status_code=201, response_model=r.AdminKeyIssued)
async def issue_admin_key(
    tenant: str,
    d: DepsArg,
    body: NewAdminKey | None = None,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    tenancy.check_operator(d, bearer_token(authorization))
    return await tenancy.issue_admin_key(d, tenant, body.name if body else None)


@router.post("/api-keys", status_code=201, response_model=r.KeyCreated)
async def create_key(body: NewKey, d: DepsArg, who: Who) -> dict[str, Any]:
    return await tenancy.create_key(d, who, body.role, body.unit, body.name)


@router.get("/api-keys", response_model=r.KeyList)
async def list_keys(d: DepsArg, who: Who) -> dict[str, Any]:
    return {"items": await tenancy.list_keys(d, who)}


@router.delete("/api-keys/{key_id}", response_model=r.KeyRevoked)
async def revoke_key(key_id: str, d: DepsArg, who: Who, force: bool = False) -> dict[str, Any]:
    return await tenancy.revoke_key(d, who, key_id, force)


@router.get("/strategy/schema", response_model=r.JsonSchema)
async def strategy_schema() -> dict[str, Any]:
    return StrategyDocument.model_json_schema()


@router.put("/strategy", response_model=r.StrategyApplied, response_model_exclude_unset=True)
async def apply_strategy(
    request: Request,
    d: DepsArg,
    who: Who,
    dry_run: bool = False,
    reason: Annotated[str | None, Query(max_length=2000)] = None,
    x_change_reason: Annotated[str | None, Header(max_length=2000)] = None,
) -> dict[str, Any]:
    body = await request.body()
    if len(body) > d.settings.max_document_bytes:
        limit = d.settings.max_document_bytes
        raise ApiError(413, "too_large", f"the document is larger than {limit} bytes")
    source = parse(body, request.headers.get("content-type"))
    why = reason or x_change_reason
    return await handlers.apply_strategy(d, who, source, dry_run=dry_run, reason=why)


@router.get("/strategy", response_model=r.StrategyAnswer, response_model_exclude_unset=True)
async def get_strategy(d: DepsArg, who: Who) -> dict[str, Any]:
    return to_document(await handlers.get_strategy(d, who))


@router.get("/kpis/{kpi_id}/history", response_model=r.KpiHistory)
async def kpi_history(kpi_id: str, d: DepsArg, who: Who) -> dict[str, Any]:
    return await reads.kpi_history(d, who, kpi_id)


@router.get("/history", response_model=r.ManyKpiHistories)
async def kpi_histories(
    d: DepsArg, who: Who, kpi: Annotated[list[str], Query(min_length=1, max_length=1000)]
) -> dict[str, Any]:
    return await reads.kpi_histories(d, who, kpi)


@router.get("/kpis/{kpi_id}/targets", response_model=r.KpiTargets)
async def kpi_targets(
    kpi_id: str, d: DepsArg, who: Who, as_of: date | None = None, at: AwareDatetime | None = None
) -> dict[str, Any]:
    return await reads.targets_as_of(d, who, kpi_id, as_of, at)


@router.get("/cascade", response_model=r.CascadeTree | r.KpiChains)
async def cascade(d: DepsArg, who: Who, kpi: str | None = None) -> dict[str, Any]:
    return await reads.cascade(d, who, kpi)


@router.get("/cascade/chains", response_model=r.ManyKpiChains)
async def cascade_chains(
    d: DepsArg, who: Who, kpi: Annotated[list[str], Query(min_length=1, max_length=1000)]
) -> dict[str, Any]:
    return await reads.kpi_chains(d, who, kpi)


@router.get("/alignment", response_model=r.AlignmentReport)
async def alignment(d: DepsArg, who: Who, rule: str | None = None) -> dict[str, Any]:
    return await reads.alignment(d, who, rule)


def _resource_routes(path: str, node_type: str) -> None:
    async def list_nodes(
        d: DepsArg,
        who: Who,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        after: str | None = None,
    ) -> dict[str, Any]:
        return await reads.page(d, who, node_type, after, min(limit, d.settings.page_size_max))

    async def get_node(node_id: str, d: DepsArg, who: Who) -> dict[str, Any]:
        return await reads.one(d, who, node_type, node_id)

    answer, page = r.node_answers(node_type)
    router.add_api_route(
        f"/{path}", list_nodes, methods=["GET"], name=f"list {path}", response_model=page
    )
    router.add_api_route(
        f"/{path}/{{node_id}}",
        get_node,
        methods=["GET"],
        name=f"get {path}",
        response_model=answer,
    )


for _path, _node_type in RESOURCES.items():
    _resource_routes(_path, _node_type)
