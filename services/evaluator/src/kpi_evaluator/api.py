"""Read API: scorecard, KPI status and series. Thin routes; keys learned from goals.changes
(any role may read). A key of another tenant sees nothing (404)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from kpi_common.apikeys import bearer_token, hash_api_key
from kpi_common.errors import Invalid, NotFound, Unauthorized, error_responses
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from kpi_evaluator import (
    arrivals_repo,
    data_health,
    health,
    recompute_api,
    status_repo,
    strategy_repo,
)
from kpi_evaluator import responses as r
from kpi_evaluator.actuals import window
from kpi_evaluator.definitions import Strategy
from kpi_evaluator.pipeline import Clock
from kpi_evaluator.restatements import Revision
from kpi_evaluator.rollup import KpiResult, scorecard
from kpi_evaluator.status_repo import StatusRow
from kpi_evaluator.strategy import StrategyCache

ERRORS = error_responses(401, 404, 422, 503)


@dataclass(frozen=True)
class Deps:
    engine: AsyncEngine
    strategies: StrategyCache
    clock: Clock
    stale_after: timedelta
    on_recompute: Callable[[], None] = lambda: None
    archive_fill_group: str = ""  # the metrics group whose archive fill recomputes wait for


def _row_json(row: StatusRow) -> dict[str, Any]:
    return {
        "kpi_id": row.kpi_id,
        "period": row.period_key,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "actual": row.actual,
        "target": row.target,
        "expected": row.expected,
        "forecast": row.forecast,
        "status": row.status,
        "score": row.score,
        "evaluated_at": row.evaluated_at,
        "breach_id": row.breach.breach_id,
    }


def _revision_json(r: Revision) -> dict[str, Any]:
    return {
        "old": r.old_actual,
        "new": r.new_actual,
        "at": r.revised_at,
        "reason": r.reason,
        "restatement_id": r.restatement_id,
    }


def _point_json(row: StatusRow, revisions: list[Revision]) -> dict[str, Any]:
    return {**_row_json(row), "revisions": [_revision_json(r) for r in revisions]}


def _result(row: StatusRow) -> KpiResult:
    return KpiResult(
        row.kpi_id,
        row.period_key,
        row.status,
        row.score,
        row.actual,
        row.target,
        row.expected,
        row.forecast,
    )


async def rows_at(conn: AsyncConnection, strategy: Strategy, at: datetime) -> dict[str, StatusRow]:
    """Each KPI's row for its period containing `at` on the CURRENT calendar (a row left by an
    older calendar or period definition is never shown)."""
    spans = {
        k.id: window(strategy, k, strategy.calendar.bucket(k.period_kind, at))
        for k in strategy.kpis.values()
    }
    keys = {span.key for span in spans.values()}
    stored = await status_repo.load(conn, strategy.tenant_id, spans, keys)
    return {
        kpi: row
        for kpi, span in spans.items()
        if (row := stored.get((kpi, span.key))) is not None
        and (row.period_start, row.period_end) == (span.start, span.end)
    }


def within_one_period(strategy: Strategy, kpi_id: str, period: str) -> None:
    """A period key asked of a KPI must lie within one of its periods (2026-Q1 of a yearly
    KPI is its 2026); 2026-Q4 of a monthly KPI spans three answers, so it is refused."""
    kind = strategy.kpis[kpi_id].period_kind
    _, asked = strategy.calendar.parse(period)
    first = strategy.calendar.bucket(kind, asked.start)
    if asked.end > first.end:
        raise Invalid(
            f"KPI {kpi_id} is measured per {kind} and period {period} spans more than one:"
            f" ask for one {kind}, e.g. {first.key}"
        )


class HealthAtScrape:
    """Refresh the KPI health gauges from the database when /metrics is scraped (pure ASGI:
    BaseHTTPMiddleware would cost a task group and streams on every request)."""

    def __init__(self, app: ASGIApp, deps: "Deps") -> None:
        self.app = app
        self.deps = deps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/metrics":
            await health.refresh(self.deps.engine, self.deps.clock())
        await self.app(scope, receive, send)


def install(app: FastAPI, deps: Deps) -> None:
    app.add_middleware(HealthAtScrape, deps=deps)

    async def tenant_strategy(request: Request) -> Strategy:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            raise Unauthorized()
        async with deps.engine.connect() as conn:
            tenant = await strategy_repo.key_tenant(conn, hash_api_key(token))
        if tenant is None:
            raise Unauthorized()
        strategy = await deps.strategies.get(tenant)
        if strategy is None:
            raise NotFound("strategy")
        return strategy

    Tenant = Annotated[Strategy, Depends(tenant_strategy)]
    recompute_api.install(
        app, deps.engine, tenant_strategy, deps.on_recompute, deps.archive_fill_group
    )

    def at_of(strategy: Strategy, period: str | None) -> datetime:
        now = deps.clock()
        if period is None:
            return now
        try:
            _, bucket = strategy.calendar.parse(period)
        except ValueError as exc:
            raise Invalid(str(exc)) from exc
        return max(bucket.start, min(now, bucket.end - timedelta(microseconds=1)))

    @app.get("/v1/scorecard", responses=ERRORS, response_model=r.ScorecardAnswer)
    async def get_scorecard(
        strategy: Tenant, unit: str | None = None, period: str | None = None
    ) -> dict[str, Any]:
        if unit is not None and strategy.node("unit", unit) is None:
            raise NotFound(f"unit {unit}")
        async with deps.engine.connect() as conn:
            rows = await rows_at(conn, strategy, at_of(strategy, period))
        results = {kpi: _result(r) for kpi, r in rows.items()}
        return {"period": period, **scorecard(strategy, results, unit)}

    @app.get(
        "/v1/kpis/{kpi_id}/status", responses=ERRORS, response_model=r.StatusPoint | r.NoStatus
    )
    async def get_status(
        strategy: Tenant, kpi_id: str, period: str | None = None
    ) -> dict[str, Any]:
        if kpi_id not in strategy.kpis:
            raise NotFound(f"KPI {kpi_id}")
        at = at_of(strategy, period)
        if period is not None:
            within_one_period(strategy, kpi_id, period)
        async with deps.engine.connect() as conn:
            row = (await rows_at(conn, strategy, at)).get(kpi_id)
        if row is None:
            return {"kpi_id": kpi_id, "status": "no_data", "actual": None, "score": None}
        return _row_json(row)

    @app.get("/v1/kpis/{kpi_id}/series", responses=ERRORS, response_model=r.Series)
    async def get_series(
        strategy: Tenant,
        kpi_id: str,
        start: Annotated[datetime, Query(alias="from")],
        end: Annotated[datetime, Query(alias="to")],
    ) -> dict[str, Any]:
        return (await series_of(strategy, [kpi_id], start, end))[0]

    @app.get("/v1/series", responses=ERRORS, response_model=r.ManySeries)
    async def get_many_series(
        strategy: Tenant,
        kpi: Annotated[list[str], Query(min_length=1, max_length=1000)],
        start: Annotated[datetime, Query(alias="from")],
        end: Annotated[datetime, Query(alias="to")],
    ) -> dict[str, Any]:
        return {"kpis": await series_of(strategy, kpi, start, end)}

    async def series_of(
        strategy: Strategy, kpi_ids: list[str], start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """Each KPI's series, in the order asked (each once), from two queries for all."""
        asked = list(dict.fromkeys(kpi_ids))
        unknown = [k for k in asked if k not in strategy.kpis]
        if unknown:
            raise NotFound(f"KPI {unknown[0]}")
        async with deps.engine.connect() as conn:
            rows = await status_repo.series_of(conn, strategy.tenant_id, asked, start, end)
            keys = [r.period_key for some in rows.values() for r in some]
            revised = await status_repo.revisions_of(conn, strategy.tenant_id, asked, keys)
        return [
            {
                "kpi_id": k,
                "points": [
                    _point_json(r, revised.get((k, r.period_key), [])) for r in rows.get(k, [])
                ],
            }
            for k in asked
        ]

    @app.get("/v1/data-health", responses=ERRORS, response_model=r.DataHealthReport)
    async def get_data_health(strategy: Tenant) -> dict[str, Any]:
        now = deps.clock()
        async with deps.engine.connect() as conn:
            rows = await rows_at(conn, strategy, now)
            arrived = await arrivals_repo.load(conn, strategy.tenant_id)
        with_data = {kpi for kpi, row in rows.items() if row.actual is not None}
        inputs = data_health.Inputs(strategy, arrived, with_data, now, deps.stale_after)
        return data_health.report(data_health.check(inputs), inputs)
