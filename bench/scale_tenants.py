"""The scale run's tenants: each gets a strategy of `KPIS` KPIs (five units, one goal each, a
mix of sums, counts, averages and maxima over months, quarters and years, two KPIs per
metric), created through goals' API as a customer would (`POST /v1/tenants`, then
`PUT /v1/strategy`), a few at a time."""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.scalestack import ScaleStack

KPIS = 50
UNITS = 5
CONCURRENCY = 4  # PUTs in flight: a few customers applying at once
AGGREGATIONS = ("sum", "count", "avg", "max")
PERIODS = ("month", "quarter", "year")


@dataclass(frozen=True)
class ScaleTenant:
    slug: str
    tenant_id: str
    admin_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}


@dataclass(frozen=True)
class Applied:
    tenants: list[ScaleTenant]
    seconds: list[float]  # each PUT /v1/strategy, client side
    wall_s: float  # the whole step, tenant creation included
    goals_cpu_s: float


def strategy(slug: str, kpis: int = KPIS) -> dict[str, Any]:
    units = [{"id": f"u{n}", "name": f"Unit {n}"} for n in range(UNITS)]
    for unit in units[1:]:
        unit["parent"] = "u0"
    people = [
        {"id": f"p{n}", "name": f"Person {n}", "unit": f"u{n}", "email": f"p{n}@scale.example"}
        for n in range(UNITS)
    ]
    goals = [
        {"id": f"g{n}", "unit": f"u{n}", "owner": f"p{n}", "title": f"Goal {n}"}
        for n in range(UNITS)
    ]
    return {
        "version": 1,
        "organization": {"name": f"Scale {slug}", "timezone": "UTC"},
        "units": units,
        "people": people,
        "goals": goals,
        "kpis": [kpi(n) for n in range(kpis)],
    }


def kpi(n: int, metric: str | None = None) -> dict[str, Any]:
    unit = n % UNITS
    return {
        "id": f"k{n:03d}",
        "title": f"KPI {n}",
        "unit": f"u{unit}",
        "owner": f"p{unit}",
        "so_that": f"g{unit}",
        "perspective": "financial",
        "measure": {
            "metric": metric or f"scale.m{n // 2:03d}",
            "aggregation": AGGREGATIONS[n % len(AGGREGATIONS)],
        },
        "period": PERIODS[n % len(PERIODS)],
        "direction": "increase",
        "unit_of_measure": "units",
        "target": 100,
    }


async def apply_many(stack: ScaleStack, slugs: list[str]) -> Applied:
    """Create these tenants and apply the 50-KPI strategy to each, `CONCURRENCY` at a time."""
    gate = asyncio.Semaphore(CONCURRENCY)
    cpu = stack.cpu_seconds("goals")
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=stack.url("goals"), timeout=120) as http:

        async def one(slug: str) -> tuple[ScaleTenant, float]:
            async with gate:
                return await create_one(http, stack.operator_token, slug, strategy(slug))

        done = await asyncio.gather(*(one(s) for s in slugs))
    wall = time.perf_counter() - start
    return Applied(
        [t for t, _ in done], [s for _, s in done], wall, stack.cpu_seconds("goals") - cpu
    )


async def create_one(
    http: httpx.AsyncClient, operator_token: str, slug: str, document: dict[str, Any]
) -> tuple[ScaleTenant, float]:
    """One tenant with that strategy; returns it and the seconds its PUT took."""
    auth = {"Authorization": f"Bearer {operator_token}"}
    created = await http.post("/v1/tenants", json={"slug": slug}, headers=auth)
    created.raise_for_status()
    body = created.json()
    tenant = ScaleTenant(slug, body["tenant_id"], body["admin_api_key"])
    start = time.perf_counter()
    put = await http.put("/v1/strategy", json=document, headers=tenant.headers)
    seconds = time.perf_counter() - start
    if put.status_code != 200:
        raise RuntimeError(f"scale: PUT /v1/strategy of {slug}: {put.status_code} {put.text}")
    return tenant, seconds
