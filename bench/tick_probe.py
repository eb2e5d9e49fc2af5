"""The evaluator's periodic tick and strategy memory at 1,000 to 20,000 KPIs, in minutes
rather than the 10 of `make bench-scale` (docs/benchmarks.md, "Cost curves", profile note).

`python -m bench.tick_probe [--steps 20,100,200,400] [--profile DIR] [--heap] [--no-freeze]`

In one process, against a scratch database `kpi_bench_tick_<run>` on the bench's PostgreSQL
(dropped at the end, also on failure or Ctrl-C), with the evaluator's own parts wired as its
composition root wires them:
- tenants get the scale run's 50-KPI strategy (`bench.scale_tenants.strategy`), turned into
  the `goals.changes` records goals would publish for it (goals' own `to_nodes`, `diff`,
  `to_event`), encoded, decoded as the consumer decodes a Kafka record, and handed to the
  evaluator's `GoalsChangesHandler` in batches of `KPI_EVALUATOR_STRATEGY_MAX_BATCH` records;
- the recompute jobs that queues run to the end (`RecomputeRunner.run_once`), then one
  tick with cleanup (as after a strategy change), one more to settle, then `TICKS` settled
  periodic ticks (`Ticker.tick_once(cleanup=False)`), each timed in CPU (`process_time`) and
  wall time, with the garbage collector's runs and CPU by generation; the heap is frozen
  after the first tick and its youngest generation's threshold raised, as the service does
  (`kpi_evaluator.heap`), unless `--no-freeze`;
- per step: CPU and wall per tick and per KPI, the growth exponent against the step before,
  the process's RSS (`VmRSS`; this process also imports goals and the bench); with `--heap`
  (`tracemalloc` on for the whole run, many times slower) what the traced heap gained by
  line since the step before and the size of every strategy loaded afresh; with `--profile` a
  cProfile of the settled ticks (`DIR/tick-<kpis>.prof`) and its top functions printed.

No Kafka and no HTTP: what it measures is the evaluator's own work, not the transport.
"""

import argparse
import asyncio
import cProfile
import gc
import io
import math
import os
import pstats
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from aiokafka import ConsumerRecord, TopicPartition
from kpi_common.db import create_engine, run_migrations, session_factory
from kpi_common.events import Envelope, TenantCreated, encode, make_envelope
from kpi_common.logging import configure_logging
from kpi_common.messages import Message
from kpi_common.offsets import NOT_STORED, Offsets
from kpi_evaluator.breaches import BreachPolicy
from kpi_evaluator.config import SCHEMA, Settings
from kpi_evaluator.evaluation import EvaluationConfig, Evaluator
from kpi_evaluator.heap import HeapFreezer, tune_collector
from kpi_evaluator.main import MIGRATIONS
from kpi_evaluator.models import outbox
from kpi_evaluator.pipeline import Ticker
from kpi_evaluator.recompute_jobs import RecomputeRunner
from kpi_evaluator.strategy import GoalsChangesHandler, StrategyCache
from kpi_goals.nodes import diff, to_event, to_nodes
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.memory import proc_status_kib
from bench.scale_tenants import KPIS, strategy
from bench.scalestack import plain, with_database

TICKS = 3  # settled ticks measured per step
TOPIC = "goals.changes"
GROUP = "evaluator.strategy"


def now() -> datetime:
    return datetime.now(UTC)


def records(tenant: str) -> list[bytes]:
    """What goals publishes on `goals.changes` for a new tenant applying the scale strategy."""
    at = now()
    created = make_envelope(
        id=f"{tenant}:created", tenant_id=tenant, producer="goals", time=at,
        data=TenantCreated(slug=tenant),
    )  # fmt: skip
    changes = diff({}, to_nodes(strategy(tenant)))
    envelopes: list[Envelope] = [created, *(to_event(tenant, c, at) for c in changes)]
    return [encode(e) for e in envelopes]


@dataclass
class Probe:
    """The evaluator's parts the probe drives, wired as `kpi_evaluator.main.build` does."""

    strategies: StrategyCache
    goals: GoalsChangesHandler
    runner: RecomputeRunner
    ticker: Ticker
    batch: int
    heap: HeapFreezer | None
    offset: int = 0

    async def apply(self, raw: list[bytes]) -> None:
        """Hand the records to the goals.changes handler as the consumer would, a batch at a
        time (one partition: the probe's order is the topic's)."""
        tp = TopicPartition(TOPIC, 0)
        for i in range(0, len(raw), self.batch):
            chunk = raw[i : i + self.batch]
            messages = [
                Message.from_record(
                    ConsumerRecord(TOPIC, 0, self.offset + n, 0, 0, None, r, None, 0, len(r), [])
                )
                for n, r in enumerate(chunk)
            ]
            start = self.offset if self.offset else NOT_STORED
            self.offset += len(chunk)
            await self.goals(messages, Offsets({tp: start}, {tp: self.offset}))
            del messages

    async def recompute_all(self) -> int:
        jobs = 0
        while await self.runner.run_once():
            jobs += 1
        return jobs


def wire(database_url: str, freeze: bool) -> tuple[Probe, AsyncEngine]:
    settings = Settings(database_url=database_url)
    engine = create_engine(database_url, pool_size=4)
    sessions = session_factory(engine)
    config = EvaluationConfig(
        status_topic="kpi.status",
        breaches_topic="kpi.breaches",
        stale_after=settings.stale_after,
        policy=BreachPolicy(settings.breach_on, settings.breach_for, settings.breach_hysteresis),
        horizon_periods=settings.breach_horizon_periods,
    )
    evaluator = Evaluator(config, outbox)
    strategies = StrategyCache(engine)
    ticker = Ticker(sessions, strategies, evaluator, now, settings.tick_s)
    runner = RecomputeRunner(sessions, strategies, evaluator, now, settings.recompute_poll_s)
    goals = GoalsChangesHandler(sessions, GROUP)
    heap = None
    if freeze:  # as the evaluator's composition root does
        tune_collector()
        heap = HeapFreezer(lambda: strategies.builds)
    return Probe(strategies, goals, runner, ticker, settings.strategy_max_batch, heap), engine


@asynccontextmanager
async def scratch() -> AsyncIterator[str]:
    base = os.environ["KPI_DATABASE_URL"]
    name = f"kpi_bench_tick_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(plain(base))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(base, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@dataclass(frozen=True)
class Step:
    kpis: int
    apply_cpu_s: float
    recompute_jobs: int
    recompute_cpu_s: float
    tick_cpu_s: float
    tick_wall_s: float
    rss_mib: float
    strategies_mib: float | None


class GcTime:
    """Time the cyclic garbage collector spends, by generation, while it is installed."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.runs = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds[info["generation"]] += time.process_time() - self._started
            self.runs[info["generation"]] += 1

    def __enter__(self) -> "GcTime":
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self)


async def measure(probe: Probe, kpis: int, profile: Path | None) -> tuple[float, float]:
    await probe.ticker.tick_once(cleanup=True)  # as after a strategy change
    await probe.ticker.tick_once(cleanup=False)  # writes the rows of newly closed periods
    if probe.heap:
        probe.heap.settle()  # as the service does after each tick
    with GcTime() as gct:
        found = await _ticks(probe, kpis, profile)
    print(
        f"  gc during {TICKS} ticks: runs {gct.runs}, CPU s "
        f"{[round(x, 3) for x in gct.seconds]}; tracked objects {len(gc.get_objects())}"
    )
    return found


async def _ticks(probe: Probe, kpis: int, profile: Path | None) -> tuple[float, float]:
    prof = cProfile.Profile() if profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if prof:
        prof.enable()
    for _ in range(TICKS):
        covered = await probe.ticker.tick_once(cleanup=False)
        assert covered == kpis, (covered, kpis)
    if prof and profile:
        prof.disable()
        out = profile / f"tick-{kpis}.prof"
        prof.dump_stats(out)
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(30)
        print(text.getvalue())
    return (time.process_time() - cpu) / TICKS, (time.perf_counter() - wall) / TICKS


class HeapDiff:
    """What the traced heap (`tracemalloc`, on for the whole run) gained since the last step,
    by line, and the size of every tenant's strategy loaded afresh into a new cache."""

    def __init__(self) -> None:
        gc.collect()
        tracemalloc.start(8)
        self._last = tracemalloc.take_snapshot()

    def step(self) -> None:
        gc.collect()
        now = tracemalloc.take_snapshot()
        traced, peak = tracemalloc.get_traced_memory()
        print(
            f"  traced heap {traced / 2**20:.1f} MiB (peak {peak / 2**20:.1f} MiB); grew by line:"
        )
        for s in now.compare_to(self._last, "lineno")[:15]:
            print(f"    {s.size_diff / 1024:+9.0f} KiB {s.count_diff:+8d} objs  {s.traceback}")
        self._last = now
        tracemalloc.reset_peak()

    async def strategies_mib(self, probe: Probe) -> float:
        before = tracemalloc.take_snapshot()
        fresh = StrategyCache(probe.strategies._engine)
        await fresh.all()
        after = tracemalloc.take_snapshot()
        size = sum(s.size_diff for s in after.compare_to(before, "filename"))
        del fresh
        return size / 2**20


async def run(steps: list[int], profile: Path | None, heap: bool, freeze: bool) -> list[Step]:
    out: list[Step] = []
    async with scratch() as url:
        probe, engine = wire(url, freeze)
        diffs = HeapDiff() if heap else None
        await run_migrations(engine, SCHEMA, MIGRATIONS)
        made = 0
        try:
            for tenants in steps:
                raw = [r for n in range(made, tenants) for r in records(f"t{n:05d}")]
                made = tenants
                cpu = time.process_time()
                await probe.apply(raw)
                apply_cpu = time.process_time() - cpu
                del raw
                cpu = time.process_time()
                jobs = await probe.recompute_all()
                recompute_cpu = time.process_time() - cpu
                kpis = tenants * KPIS
                tick_cpu, tick_wall = await measure(probe, kpis, profile)
                rss = proc_status_kib(os.getpid(), "VmRSS") / 1024
                heap_mib = None
                if diffs:
                    diffs.step()
                    heap_mib = await diffs.strategies_mib(probe)
                step = Step(
                    kpis, apply_cpu, jobs, recompute_cpu, tick_cpu, tick_wall, rss, heap_mib
                )
                out.append(step)
                report(out, step)
        finally:
            await engine.dispose()
    return out


def report(steps: list[Step], s: Step) -> None:
    load = os.getloadavg()
    growth = ""
    if len(steps) > 1:
        p = steps[-2]
        e = math.log(s.tick_cpu_s / p.tick_cpu_s) / math.log(s.kpis / p.kpis)
        growth = f", CPU growth exponent {e:.2f} from {p.kpis}"
    heap = f", strategies {s.strategies_mib:.1f} MiB" if s.strategies_mib is not None else ""
    print(
        f"{s.kpis:6d} KPIs: tick CPU {s.tick_cpu_s:.3f} s ({s.tick_cpu_s / s.kpis * 1e6:.0f} µs"
        f"/KPI), wall {s.tick_wall_s:.3f} s{growth}; apply CPU {s.apply_cpu_s:.1f} s; "
        f"{s.recompute_jobs} recompute jobs, {s.recompute_cpu_s:.1f} s CPU; RSS "
        f"{s.rss_mib:.0f} MiB{heap}; load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="20,100,200,400", help="tenants after each step")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the ticks here")
    parser.add_argument("--heap", action="store_true", help="tracemalloc the run (slower)")
    parser.add_argument(
        "--no-freeze", action="store_true", help="without kpi_evaluator.heap (as before it)"
    )
    args = parser.parse_args()
    configure_logging("bench-tick", "WARNING")
    steps = sorted(int(s) for s in args.steps.split(","))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(steps, args.profile, args.heap, not args.no_freeze))


if __name__ == "__main__":
    main()
