"""(j) Sustained throughput: the highest offered rate at which the evaluator's lag stays flat
for 60 s (the rule: bench/flat.py), searched with 1 and with 2 evaluator replicas, in events/s
and as a ratio to the ceiling (a).

Load: 100-event batches through `POST /v1/events`, open loop at the probed rate, spread over
one metric per partition of `metrics.events` (bench/spread.py). The search starts from what
the evaluator applied during (c), steps up 20 % after a flat probe, bisects once a probe
failed, and stops when the best flat rate and the lowest failing one are within 10 %, or its
time (`SEARCH_S` per replica count) is spent once some rate was flat (until then it goes on,
up to `MAX_PROBES`: a search that ends without a flat rate reports nothing). The second
replica is a second evaluator process in the same consumer group, stopped at the end; its
search starts at the rate one replica sustained.

    python -m bench.sustained [--start RATE]   # (a) and (j) alone, on services it starts
"""

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
from kpi_localinfra.processes import SERVICES, ServiceProcess, free_ports

from bench import ceiling, flat, spread
from bench.memory import RUN, cpu_seconds, pid_cpu_seconds
from bench.table import Row
from bench.tenant import service_url

GOAL = 0.35  # of the ceiling (a), produce then consume
SEARCH_S = 170.0  # per replica count: the whole (j) stays near 6 minutes
MAX_PROBES = 4  # per replica count, while no probed rate was flat
DRAIN_S = 60.0
SAMPLE_S = 1.0
DEFAULT_START = 10_000.0
PROCESSED = "evaluator_events_processed_total "


@dataclass
class Search:
    replicas: int
    tried: list[flat.Verdict] = field(default_factory=list)
    cpu_us: dict[str, float] = field(default_factory=dict)  # at the best flat rate
    seconds: float = 0.0

    @property
    def best(self) -> flat.Verdict | None:
        return max((v for v in self.tried if v.flat), key=lambda v: v.rate, default=None)


@dataclass
class Stack:
    """What a probe needs: the lag, where to send, and the evaluators' pids for CPU."""

    lags: spread.LagReader
    tenant: spread.SpreadTenant
    url: str
    evaluators: list[int]


async def measure(ceiling_rate: float, start: float | None, env: dict[str, str]) -> list[Row]:
    """`start`: the evaluator's applied rate in (c), where the search begins; `env`: the
    services' environment (the second replica gets the same)."""
    bootstrap = os.environ.get("KPI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    prefix = os.environ.get("KPI_TOPIC_PREFIX", "")
    lags = spread.LagReader(bootstrap, spread.database_url(), prefix)
    await lags.start()
    try:
        stack = await asyncio.to_thread(_stack, lags, env)
        one = await search(stack, 1, start or DEFAULT_START)
        # does a second replica sustain at least as much? (1.2 times it, tried first, left
        # two probes for a search whose first failed on ingest's share of the two cores)
        first = one.best.rate if one.best else (start or DEFAULT_START)
        async with second_replica(stack, env):
            two = await search(stack, 2, first)
    finally:
        await lags.stop()
    return [*rows(one, ceiling_rate), *rows(two, ceiling_rate)]


def _stack(lags: spread.LagReader, env: dict[str, str]) -> Stack:
    token = env["KPI_OPERATOR_TOKEN"]
    tenant = spread.create_tenant(service_url("goals"), token, len(lags.partitions))
    spread.wait_known(tenant, service_url("ingest"), service_url("evaluator"))
    pid = int((RUN / "evaluator.pid").read_text())
    return Stack(lags, tenant, f"{service_url('ingest')}/v1/events", [pid])


async def search(stack: Stack, replicas: int, start: float) -> Search:
    out = Search(replicas)
    began = time.monotonic()
    rate = start
    while True:
        verdict, cpu = await probe(stack, rate)
        out.tried.append(verdict)
        if verdict.flat and verdict is out.best:
            out.cpu_us = cpu
        _log(replicas, verdict)
        left = SEARCH_S - (time.monotonic() - began)
        if flat.resolved(out.tried) or _spent(out, left):
            break
        rate = flat.next_rate(out.tried)
    out.seconds = time.monotonic() - began
    return out


def _spent(found: Search, left: float) -> bool:
    """Out of time; a search without a flat rate yet goes on up to `MAX_PROBES`."""
    if found.best is None:
        return len(found.tried) >= MAX_PROBES
    return left < flat.WINDOW_S + 5


async def probe(stack: Stack, rate: float) -> tuple[flat.Verdict, dict[str, float]]:
    """Offer `rate` for the window from an idle evaluator, sampling the lag every second."""
    await stack.lags.drained(DRAIN_S)
    print(f"  (j) offering {rate:,.0f} events/s", file=sys.stderr, flush=True)
    sent, samples = spread.Sent(), list[flat.Sample]()
    cpu = _cpu(stack)
    began = time.perf_counter()
    sender = asyncio.create_task(spread.paced(stack.url, stack.tenant, rate, flat.WINDOW_S, sent))
    aborted = False
    while not sender.done() and not aborted:
        await asyncio.wait([sender], timeout=SAMPLE_S)
        at, lag = time.perf_counter() - began, await stack.lags.lag()
        samples.append((at, float(lag)))
        aborted = flat.should_abort(rate, at, lag)
    sender.cancel()
    await asyncio.wait([sender])  # unlike `await sender`, keeps a cancellation of ours
    seconds = time.perf_counter() - began
    used = {k: (v - cpu[k]) * 1e6 / max(1, sent.accepted) for k, v in _cpu(stack).items()}
    if sent.failed:
        print(f"  (j) {sent.failed} requests failed, first: {sent.error}", file=sys.stderr)
    return flat.judge(rate, samples, sent.accepted, seconds, aborted), used


def _cpu(stack: Stack) -> dict[str, float]:
    evaluators = sum(pid_cpu_seconds(pid) for pid in stack.evaluators)
    return {"evaluator": evaluators, "metrics-ingest": cpu_seconds("metrics-ingest")}


@contextlib.asynccontextmanager
async def second_replica(stack: Stack, env: dict[str, str]) -> AsyncIterator[None]:
    """A second evaluator in the same group; yields once both replicas applied events."""
    spec = next(s for s in SERVICES if s.name == "evaluator")
    log = RUN / "evaluator-replica-2.log"
    replica = ServiceProcess(spec, dict(env), log, free_ports(1)[0])
    replica.start()
    try:
        await asyncio.to_thread(replica.wait_ready, 120)
        assert replica.proc is not None
        stack.evaluators.append(replica.proc.pid)
        await _both_apply(stack, [service_url("evaluator"), replica.url])
        yield
    finally:
        stack.evaluators[1:] = []
        await asyncio.to_thread(replica.stop)


async def _both_apply(stack: Stack, urls: list[str], timeout_s: float = 60.0) -> None:
    """Trickle events over every partition until each replica's processed count grew (the
    group rebalanced and each replica owns partitions)."""
    before = [await _processed(u) for u in urls]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        await spread.paced(stack.url, stack.tenant, 600, 2.0, spread.Sent())
        now = [await _processed(u) for u in urls]
        if all(n > b for n, b in zip(now, before, strict=True)):
            return
    raise RuntimeError(f"(j) the two evaluator replicas did not both apply in {timeout_s:.0f}s")


async def _processed(url: str) -> float:
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"{url}/metrics")).text
    line = next((x for x in text.splitlines() if x.startswith(PROCESSED)), "")
    return float(line[len(PROCESSED) :] or 0)


def rows(found: Search, ceiling_rate: float) -> list[Row]:
    n = f"{found.replicas} evaluator{'s' if found.replicas > 1 else ''}"
    best = found.best
    rate = best.rate if best else 0.0
    ratio = rate / ceiling_rate if ceiling_rate else 0.0
    return [
        Row(f"(j) sustained, lag flat for 60 s, {n}", rate, "events/s"),
        Row(f"(j) sustained / (a), {n}", ratio, "", f">= {GOAL}", ratio >= GOAL),
        *(Row(f"(j) {s} CPU per event there, {n}", us, "us") for s, us in found.cpu_us.items()),
        Row(f"(j) search time, {n} ({len(found.tried)} probes)", found.seconds, "s"),
    ]


def _log(replicas: int, v: flat.Verdict) -> None:
    print(
        f"  (j) {replicas} evaluator(s), offered {v.rate:,.0f}/s: accepted {v.accepted:,.0f}/s,"
        f" lag slope {v.slope:,.0f}/s, end lag {v.end_lag:,.0f}, {v.seconds:.0f}s: {v.why}",
        file=sys.stderr,
        flush=True,
    )


def main() -> int:
    """(j) alone, on the services this starts (as `make bench`), for development."""
    import argparse

    from bench.__main__ import BENCH_ENV, start_services
    from demo import stack as demo_stack

    parser = argparse.ArgumentParser(prog="python -m bench.sustained")
    parser.add_argument("--start", type=float, default=DEFAULT_START, help="first rate, events/s")
    parser.add_argument("--probe", type=float, help="only one probe at this rate, 1 replica")
    args = parser.parse_args()
    bootstrap = os.environ.get("KPI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    ceiling_rate = 0.0 if args.probe else asyncio.run(ceiling.measure(bootstrap))[2].value
    print(f"(a) ceiling, produce then consume: {ceiling_rate:,.0f} events/s", flush=True)
    start_services()
    try:
        env = {**demo_stack.service_env(), **BENCH_ENV}
        if args.probe:
            asyncio.run(_one_probe(args.probe, env))
            return 0
        for row in asyncio.run(measure(ceiling_rate, args.start, env)):
            print(f"{row.figure}: {row.value:,.2f} {row.unit}", flush=True)
    finally:
        demo_stack.stop_all()
    return 0


async def _one_probe(rate: float, env: dict[str, str]) -> None:
    prefix = os.environ.get("KPI_TOPIC_PREFIX", "")
    bootstrap = os.environ.get("KPI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    lags = spread.LagReader(bootstrap, spread.database_url(), prefix)
    await lags.start()
    try:
        stack = await asyncio.to_thread(_stack, lags, env)
        verdict, cpu = await probe(stack, rate)
        _log(1, verdict)
        print(f"  (j) CPU per event: {cpu}", file=sys.stderr)
    finally:
        await lags.stop()


if __name__ == "__main__":
    sys.exit(main())
