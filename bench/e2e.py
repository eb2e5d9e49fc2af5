"""(c) End-to-end events/s: 100-event batches through POST /v1/events, closed loop for 40 s,
until the evaluator's persisted actual (the `count` KPI, read through its API) accounts for every
accepted event. Three rates, since ingest accepts faster than one evaluator applies: accepted
while sending, applied while sending (the actual read the moment the senders stop), and
accepted events over the time until all were applied (which includes the evaluator's catch-up
after the senders stopped). The evaluator's consumer lag (its /metrics) is sampled every 2 s;
the steady window is the sending time after a warm-up, its first and last samples reported.
The rate the system sustains is (j), bench/sustained.py."""

import asyncio
import re
import time
import uuid
from dataclasses import dataclass

import httpx

from bench.ingest import BATCH, event
from bench.load import bodies, closed_loop
from bench.memory import cpu_seconds
from bench.table import Row
from bench.tenant import THROUGHPUT_KPI, BenchTenant, service_url

CONCURRENCY = 16
SEND_S = 40.0
WARMUP_S = 8.0
DRAIN_TIMEOUT_S = 240.0
LAG_EVERY_S = 2.0  # each scrape of the evaluator's /metrics also reads KPI health from Postgres
LAG = re.compile(r'^evaluator_consumer_lag_messages\{topic="metrics\.events"\} (\S+)$', re.M)


CPU_OF = ("metrics-ingest", "evaluator")


@dataclass(frozen=True)
class Sustained:
    rate: float  # accepted / (first send -> all applied): includes the catch-up
    accepted: int
    accepted_rate: float  # while sending
    applied_rate: float  # while sending
    lag_start: float
    lag_end: float
    cpu_us: dict[str, float]  # CPU time per event, by service: steadier than rates under load


async def lag() -> float:
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{service_url('evaluator')}/metrics")).text
    found = LAG.search(text)
    return float(found.group(1)) if found else 0.0


async def wait_lag_zero(timeout_s: float = DRAIN_TIMEOUT_S) -> None:
    """Start from an idle evaluator (earlier figures leave it a backlog)."""
    deadline = time.monotonic() + timeout_s
    while await lag() > 0 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(1.0)


async def measure(tenant: BenchTenant) -> tuple[list[Row], Sustained]:
    await wait_lag_zero()
    result = await sustained(tenant)
    growing = result.lag_end > result.lag_start + 10 * BATCH
    rows = [
        Row(
            "(c) end to end, 100-event batches, incl. catch-up",
            result.rate,
            "events/s",
            ">= 10,000",
            result.rate >= 10_000,
        ),
        Row("(c) accepted by ingest while sending", result.accepted_rate, "events/s"),
        Row("(c) applied by the evaluator while sending", result.applied_rate, "events/s"),
        Row("(c) evaluator lag, start of steady window", result.lag_start, "messages"),
        Row(
            "(c) evaluator lag, end of steady window",
            result.lag_end,
            "messages",
            "not growing",
            not growing,
        ),
        *(Row(f"(c) {s} CPU per event", us, "us") for s, us in result.cpu_us.items()),
    ]
    return rows, result


async def sustained(tenant: BenchTenant) -> Sustained:
    run = uuid.uuid4().hex[:8]
    url = f"{service_url('ingest')}/v1/events"
    samples: list[tuple[float, float]] = []
    start, cpu = time.perf_counter(), {s: cpu_seconds(s) for s in CPU_OF}
    sampler = asyncio.create_task(_sample_lag(samples))
    load = bodies(lambda n: [event(run, f"{n}-{i}") for i in range(BATCH)])
    sent = await closed_loop(url, tenant.ingest, load, CONCURRENCY, SEND_S)
    sampler.cancel()
    applied = await asyncio.to_thread(_actual, tenant)
    done = await asyncio.to_thread(_wait_counted, tenant, sent.accepted)
    used = {s: (cpu_seconds(s) - cpu[s]) * 1e6 / max(1, sent.accepted) for s in CPU_OF}
    steady = [lag for at, lag in samples if at - start >= WARMUP_S] or [0.0]
    rate = sent.accepted / (done - start)
    accepted, applied = sent.accepted / sent.elapsed, applied / sent.elapsed
    return Sustained(rate, sent.accepted, accepted, applied, steady[0], steady[-1], used)


async def _sample_lag(out: list[tuple[float, float]]) -> None:
    while True:
        out.append((time.perf_counter(), await lag()))
        await asyncio.sleep(LAG_EVERY_S)


def _actual(tenant: BenchTenant) -> float:
    return float(tenant.kpi_status(THROUGHPUT_KPI).get("actual") or 0)


def _wait_counted(tenant: BenchTenant, expected: int) -> float:
    """When the persisted actual reached `expected` (perf_counter), polled every 0.2 s."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        if _actual(tenant) >= expected:
            return time.perf_counter()
        time.sleep(0.2)
    raise RuntimeError(f"the evaluator did not count {expected} events in {DRAIN_TIMEOUT_S}s")
