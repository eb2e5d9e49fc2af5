"""What the scale run reads off the running services: the evaluator's tick (its Prometheus
histogram and the KPIs its last tick covered), process CPU and RSS, scorecard latency."""

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import httpx

from bench.scale_tenants import ScaleTenant
from bench.scalestack import ScaleStack

SETTLE_S = 240.0  # how long to wait for the recompute jobs of new tenants to drain
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
    recomputes: float  # recompute jobs pending or running (new tenants queue one each)

    def settled(self, kpis: int) -> bool:
        return self.kpis >= kpis and self.recomputes == 0


@dataclass(frozen=True)
class Tick:
    wall_s: float  # mean duration of the ticks measured
    cpu_s: float  # the evaluator process's CPU time per tick while they ran
    backlog: int = 0  # recompute jobs still queued when they started (0: the settled tick)


async def tick_sample(stack: ScaleStack, http: httpx.AsyncClient) -> TickSample:
    text = (await http.get(f"{stack.url('evaluator')}/metrics")).text
    return TickSample(
        scrape(text, "evaluator_tick_duration_seconds_count"),
        scrape(text, "evaluator_tick_duration_seconds_sum"),
        scrape(text, "evaluator_tick_kpis"),
        scrape(text, "evaluator_tick_cpu_seconds_total"),
        await _recomputes(stack),
    )


async def _recomputes(stack: ScaleStack) -> int:
    """Recompute jobs not done, read from the database (the evaluator's gauge of them is
    refreshed only when its runner has none left)."""
    conn = await asyncpg.connect(stack.dsn())
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM evaluator.recompute_jobs WHERE state <> 'done'"
        )
    finally:
        await conn.close()
    return int(found)


async def measure_tick(stack: ScaleStack, kpis: int, ticks: int, timeout_s: float) -> Tick:
    """The periodic tick, settled: once a tick covered all `kpis` (the evaluator knows every
    tenant) and the new tenants' recompute jobs are done (each wakes a tick of its tenant,
    as each strategy change does), one more tick, then the mean duration and CPU of the next
    `ticks`."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=30) as http:
        ready = await _until(stack, http, deadline, lambda t: t.kpis >= kpis)
        settle_by = min(deadline, time.monotonic() + SETTLE_S)
        with contextlib.suppress(TimeoutError):  # then measured with the backlog, and said so
            ready = await _until(stack, http, settle_by, lambda t: t.settled(kpis))
        first = await _until(stack, http, deadline, lambda t: t.count > ready.count)
        last = await _until(stack, http, deadline, lambda t: t.count >= first.count + ticks)
    n = last.count - first.count
    cpu = (last.cpu_s - first.cpu_s) / n
    return Tick((last.total_s - first.total_s) / n, cpu, int(first.recomputes))


async def _until(
    stack: ScaleStack,
    http: httpx.AsyncClient,
    deadline: float,
    done: Callable[[TickSample], bool],
) -> TickSample:
    sample = await tick_sample(stack, http)
    while not done(sample):
        if time.monotonic() > deadline:
            raise TimeoutError(f"scale: the evaluator's ticks did not settle ({sample})")
        await asyncio.sleep(POLL_S)
        sample = await tick_sample(stack, http)
    return sample


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
