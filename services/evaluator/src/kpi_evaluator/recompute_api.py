"""Read API of recompute jobs (progress) and the operator's request for one. Any role may
read; asking for a recompute takes an admin or editor key."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from kpi_common.apikeys import bearer_token, hash_api_key
from kpi_common.errors import Forbidden, Invalid, NotFound, Unauthorized, error_responses
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

from kpi_evaluator import archive_fill_repo, recompute_repo, strategy_repo
from kpi_evaluator import responses as r
from kpi_evaluator.archive_fill_repo import Fill
from kpi_evaluator.definitions import Strategy
from kpi_evaluator.recompute import REQUESTED, computed

ERRORS = error_responses(400, 401, 403, 404, 422)
WRITERS = ("admin", "editor")


class RecomputeRequest(BaseModel):
    """`{"kpi": "revenue"}` or `{"all": true}`."""

    model_config = ConfigDict(extra="forbid")
    kpi: str | None = None
    all: bool = False


def _kpis(strategy: Strategy, body: RecomputeRequest) -> list[str]:
    if (body.kpi is None) == (not body.all):
        raise Invalid('give exactly one of "kpi" or "all": true')
    if body.kpi is not None:
        if body.kpi not in strategy.kpis:
            raise NotFound(f"KPI {body.kpi}")
        return [body.kpi]
    return sorted(k.id for k in strategy.kpis.values() if computed(k))


def _fill_json(fill: Fill | None) -> dict[str, Any] | None:
    if fill is None:
        return None
    return {
        "state": "filling" if fill.finished_at is None else "done",
        "offsets_done": fill.offsets_done,
        "offsets_total": fill.offsets_total,
        "not_retained": fill.not_retained,
        "finished_at": fill.finished_at,
    }


def install(
    app: FastAPI,
    engine: AsyncEngine,
    tenant_strategy: Callable[[Request], Awaitable[Strategy]],
    on_recompute: Callable[[], None],
    fill_group: str,
) -> None:
    Tenant = Annotated[Strategy, Depends(tenant_strategy)]

    async def writer(request: Request) -> None:
        token = bearer_token(request.headers.get("authorization")) or ""
        async with engine.connect() as conn:
            role = await strategy_repo.key_role(conn, hash_api_key(token))
        if role is None:
            raise Unauthorized()
        if role not in WRITERS:
            raise Forbidden("asking for a recompute needs an admin or editor key")

    @app.get("/v1/recomputes", responses=ERRORS, response_model=r.RecomputeJobs)
    async def list_recomputes(strategy: Tenant) -> dict[str, Any]:
        async with engine.connect() as conn:
            jobs = await recompute_repo.list_jobs(conn, strategy.tenant_id)
            fill = await archive_fill_repo.load(conn, fill_group)
        return {"jobs": [j.as_json() for j in jobs], "archive_fill": _fill_json(fill)}

    @app.get("/v1/recomputes/{job_id}", responses=ERRORS, response_model=r.RecomputeJob)
    async def get_recompute(strategy: Tenant, job_id: int) -> dict[str, Any]:
        async with engine.connect() as conn:
            job = await recompute_repo.get(conn, strategy.tenant_id, job_id)
        if job is None:
            raise NotFound(f"recompute {job_id}")
        return job.as_json()

    @app.post(
        "/v1/recomputes",
        status_code=202,
        responses=ERRORS,
        response_model=r.RecomputeJob,
        dependencies=[Depends(writer)],
    )
    async def post_recompute(strategy: Tenant, body: RecomputeRequest) -> dict[str, Any]:
        kpis = _kpis(strategy, body)
        if not kpis:
            raise Invalid("the strategy has no KPI with a measure to recompute")
        async with engine.begin() as conn:
            job = await recompute_repo.add(conn, strategy.tenant_id, kpis, REQUESTED)
        on_recompute()
        return job.as_json()
