"""Scale (ii): the evaluator's events/s as more KPIs match one metric.

Three tenants of the scale stack measure the same metric with 1, 10 and 100 KPIs (sums,
counts, averages and maxima over months, quarters and years). `EVENTS` events of that metric
are produced straight onto the stack's `metrics.events` for each tenant in turn (ingest is not
in the figure: it does not depend on the KPIs), and the figure runs from the first produce
until the evaluator's stored offsets cover the last: events/s, and the evaluator's CPU per
event (process CPU from /proc minus what its ticks used meanwhile). The count is checked
through the evaluator's API afterwards. The tenants' KPIs are then removed (an empty
strategy), so the cost curves of (i) tick over their own KPIs only."""

import asyncio
import time
import uuid
from dataclasses import dataclass

import asyncpg
import httpx
from kpi_common.kafka import create_producer, publish

from bench import scale_tenants
from bench.scale_probe import scrape
from bench.scale_tenants import ScaleTenant
from bench.scalestack import ScaleStack
from bench.tenant import observed

FANOUT = (1, 10, 100)
EVENTS = 20_000
METRIC = "scale.fanout"
CHUNK = 500


@dataclass(frozen=True)
class FanoutPoint:
    kpis: int
    events_per_s: float
    cpu_us_per_event: float


def strategy(slug: str, kpis: int) -> dict[str, object]:
    doc = scale_tenants.strategy(slug, 0)
    doc["kpis"] = [scale_tenants.kpi(n, METRIC) for n in range(kpis)]
    return doc


async def measure(
    stack: ScaleStack, bootstrap: str, fanout: tuple[int, ...] = FANOUT
) -> list[FanoutPoint]:
    async with httpx.AsyncClient(base_url=stack.url("goals"), timeout=120) as http:
        tenants = []
        for k in fanout:
            slug = f"fanout-{k}"
            doc = strategy(slug, k)
            tenants.append(
                (await scale_tenants.create_one(http, stack.operator_token, slug, doc))[0]
            )
        for tenant in tenants:
            await _until_known(stack, tenant)
        fed, points = 0, []
        for k, tenant in zip(fanout, tenants, strict=True):
            points.append(await _point(stack, bootstrap, tenant, k, fed))
            fed += EVENTS
        for tenant in tenants:  # (i) counts only its own KPIs
            empty = strategy(tenant.slug, 0)
            (await http.put("/v1/strategy", json=empty, headers=tenant.headers)).raise_for_status()
    return points


async def _point(
    stack: ScaleStack, bootstrap: str, tenant: ScaleTenant, kpis: int, fed: int
) -> FanoutPoint:
    messages = [
        observed(stack.prefix, tenant.tenant_id, METRIC, f"scale-{uuid.uuid4().hex}")
        for _ in range(EVENTS)
    ]
    producer = create_producer(bootstrap)
    await producer.start()
    try:
        cpu, tick_cpu = stack.cpu_seconds("evaluator"), await _tick_cpu(stack)
        start = time.perf_counter()
        for i in range(0, len(messages), CHUNK):
            await publish(producer, messages[i : i + CHUNK])
        await _until_consumed(stack, fed + EVENTS)
        elapsed = time.perf_counter() - start
        used = stack.cpu_seconds("evaluator") - cpu - (await _tick_cpu(stack) - tick_cpu)
    finally:
        await producer.stop()
    await _check_count(stack, tenant)
    return FanoutPoint(kpis, EVENTS / elapsed, used * 1e6 / EVENTS)


async def _tick_cpu(stack: ScaleStack) -> float:
    async with httpx.AsyncClient(timeout=30) as http:
        text = (await http.get(f"{stack.url('evaluator')}/metrics")).text
    return scrape(text, "evaluator_tick_cpu_seconds_total")


async def _until_known(stack: ScaleStack, tenant: ScaleTenant, timeout_s: float = 120) -> None:
    url = f"{stack.url('evaluator')}/v1/kpis/k000/status"
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=10) as http:
        while (await http.get(url, headers=tenant.headers)).status_code != 200:
            if time.monotonic() > deadline:
                raise TimeoutError(f"scale (ii): the evaluator never learned {tenant.slug}")
            await asyncio.sleep(0.3)


async def _until_consumed(stack: ScaleStack, target: int, timeout_s: float = 300) -> None:
    conn = await asyncpg.connect(stack.dsn())
    group = f"{stack.prefix}evaluator.metrics"
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            done = await conn.fetchval(
                "SELECT coalesce(sum(next_offset), 0) FROM evaluator.consumer_offsets"
                " WHERE group_id = $1",
                group,
            )
            if done >= target:
                return
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    raise TimeoutError(f"scale (ii): {target} events not consumed after {timeout_s:.0f}s")


async def _check_count(stack: ScaleStack, tenant: ScaleTenant) -> None:
    """k000 is a monthly sum of the metric: it must hold every event, once."""
    url = f"{stack.url('evaluator')}/v1/kpis/k000/status"
    async with httpx.AsyncClient(timeout=10) as http:
        body = (await http.get(url, headers=tenant.headers)).json()
    if body.get("actual") != EVENTS:
        raise RuntimeError(f"scale (ii): {tenant.slug} counted {body.get('actual')} of {EVENTS}")
