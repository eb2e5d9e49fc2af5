"""(b) Ingest HTTP throughput against the real metrics-ingest: single-event requests and
100-event batches, from 32 concurrent connections, every request answered 202."""

import asyncio
import time
import uuid
from typing import Any

import httpx

from bench.table import Row
from demo import stack
from demo.tenant import DemoTenant

CONCURRENCY = 32
SINGLE_REQUESTS = 6_000
BATCH_REQUESTS = 400
BATCH = 100


async def measure() -> list[Row]:
    stack.start_sinks()
    stack.restart_services()
    tenant = DemoTenant.open(stack.operator_token())
    url = f"{tenant.urls.ingest_url}/v1/events"
    headers = {"Authorization": f"Bearer {tenant.ingest_key}"}
    tenant.wait_until("ingest to learn the key", lambda: _known(url, headers))
    run = uuid.uuid4().hex[:8]
    single = await _load(url, headers, [[_event(run, i)] for i in range(SINGLE_REQUESTS)])
    bodies = [[_event(run, f"b{j}-{i}") for i in range(BATCH)] for j in range(BATCH_REQUESTS)]
    batched = await _load(url, headers, bodies)
    return [
        Row(
            "(b) ingest, single-event requests",
            single[0],
            "requests/s",
            ">= 1,500",
            single[0] >= 1500,
        ),
        Row("(b) ingest, single-event p99", single[1] * 1000, "ms"),
        Row("(b) ingest, 100-event batches", batched[0] * BATCH, "events/s"),
        Row("(b) ingest, 100-event batch p99", batched[1] * 1000, "ms"),
    ]


def _known(url: str, headers: dict[str, str]) -> bool:
    return httpx.post(url, json=[], headers=headers, timeout=10).status_code != 401


def _event(run: str, i: object) -> dict[str, Any]:
    return {
        "id": f"bench-{run}-{i}",
        "metric": "bench.requests",
        "value": 1,
        "time": "2026-11-01T00:00:00Z",
        "dimensions": {"region": "emea"},
    }


async def _load(url: str, headers: dict[str, str], bodies: list[Any]) -> tuple[float, float]:
    """Requests per second and p99 latency in seconds; fails on any non-202 answer."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
        start = time.perf_counter()
        await asyncio.gather(*(_worker(client, url, queue, latencies) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return len(bodies) / elapsed, latencies[int(len(latencies) * 0.99) - 1]


async def _worker(
    client: httpx.AsyncClient, url: str, queue: asyncio.Queue[Any], latencies: list[float]
) -> None:
    while not queue.empty():
        body = queue.get_nowait()
        t0 = time.perf_counter()
        resp = await client.post(url, json=body)
        latencies.append(time.perf_counter() - t0)
        if resp.status_code != 202:
            raise RuntimeError(f"ingest answered {resp.status_code}: {resp.text[:300]}")
