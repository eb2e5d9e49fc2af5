"""What the scale run reads off the running services: the evaluator's tick (its Prometheus
histogram and the KPIs its last tick covered), process CPU and RSS, scorecard latency."""

import asyncio
import statistics
import time
from dataclasses import dataclass

import httpx

from bench.scale_tenants import ScaleTenant
from bench.scalestack import ScaleStack

POLL_S = 3.0  # each /metrics scrape of the evaluator runs its KPI health query
READS = 200  # scorecard reads per step


def scrape(text: str, name: str) -> float:
    """The value of an unlabelled sample in Prometheus text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


@dataclass(frozen=True)
class TickSample:
    count: float
    total_s: float
    kpis: float
    cpu_s: float


@dataclass(frozen=True)
class Tick:
    wall_s: float  # mean duration of the ticks measured
    cpu_s: float  # the evaluator process's CPU time per tick while they ran


async def tick_sample(stack: ScaleStack, http: httpx.AsyncClient) -> TickSample:
    text = (await http.get(f"{stack.url('evaluator')}/metrics")).text
    return TickSample(
        scrape(text, "evaluator_tick_duration_seconds_count"),
        scrape(text, "evaluator_tick_duration_seconds_sum"),
        scrape(text, "evaluator_tick_kpis"),
        scrape(text, "evaluator_tick_cpu_seconds_total"),
    )


async def measure_tick(stack: ScaleStack, kpis: int, ticks: int, timeout_s: float) -> Tick:
    """Once a tick covered all `kpis` (the evaluator knows every tenant), the mean duration
    and CPU of the next `ticks` complete ticks."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=30) as http:
        first = await tick_sample(stack, http)
        while first.kpis < kpis:
            if time.monotonic() > deadline:
                raise TimeoutError(f"scale: no tick over {kpis} KPIs (last: {first.kpis:.0f})")
            await asyncio.sleep(POLL_S)
            first = await tick_sample(stack, http)
        last = first
        while last.count < first.count + ticks:
            if time.monotonic() > deadline:
                raise TimeoutError(f"scale: {ticks} ticks over {kpis} KPIs took too long")
            await asyncio.sleep(POLL_S)
            last = await tick_sample(stack, http)
    n = last.count - first.count
    return Tick((last.total_s - first.total_s) / n, (last.cpu_s - first.cpu_s) / n)


async def scorecard_ms(stack: ScaleStack, tenants: list[ScaleTenant], reads: int = READS) -> float:
    """p50 of GET /v1/scorecard, one read after another, round robin over the tenants."""
    seconds = []
    async with httpx.AsyncClient(base_url=stack.url("evaluator"), timeout=30) as http:
        for i in range(reads):
            tenant = tenants[i % len(tenants)]
            start = time.perf_counter()
            resp = await http.get("/v1/scorecard", headers=tenant.headers)
            seconds.append(time.perf_counter() - start)
            resp.raise_for_status()
    return statistics.median(seconds) * 1000
