"""`make bench-scale` (`python -m bench --scale`): cost curves, in a stack of the run's own
(bench.scalestack: a scratch database and topic prefix, dropped at the end).

(ii) events/s as 1, 10 and 100 KPIs match one metric (bench.scale_fanout); (i) 1, 100 and
1,000 tenants of 50 KPIs (bench.scale_tenants): apply time, the evaluator's tick (wall and
CPU, from its own metrics), every service's RSS, scorecard read latency; (iii) database bytes
per event after 1,000,000 events (bench.scale_storage). Goals: a tick over 50,000 KPIs under
5 s on one core, every service under 300 MiB at 50,000 KPIs, no curve worse than linear
(growth exponents between the last two points: 1 is linear). See docs/benchmarks.md."""

import asyncio
import math
import os
import platform
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import scale_fanout, scale_probe, scale_storage, scale_tenants
from bench.scale_fanout import FanoutPoint
from bench.scale_tenants import ScaleTenant
from bench.scalestack import ScaleStack, running
from bench.table import Row, render

STEPS = (1, 100, 1000)
TICKS = 2  # complete ticks measured per step
TICK_GOAL_S = 5.0
RSS_GOAL_MIB = 300
LINEAR = 1.15  # the growth exponent allowed: linear, with some room for noise
SERVICES = ("goals", "metrics-ingest", "evaluator", "notifier")
RESULTS = Path("bench-results")


@dataclass(frozen=True)
class Step:
    tenants: int
    apply_p50_s: float
    apply_total_s: float  # wall, every tenant so far
    goals_cpu_per_tenant_s: float
    tick: scale_probe.Tick
    rss_mib: dict[str, float]
    scorecard_ms: float

    @property
    def kpis(self) -> int:
        return self.tenants * scale_tenants.KPIS

    @property
    def backlog(self) -> str:
        """A note on tick rows measured while new tenants' recompute jobs were still queued."""
        n = self.tick.backlog
        return f" (with {n:,} recompute jobs queued)" if n else ""


def log(text: str) -> None:
    print(f"  scale: {text}", file=sys.stderr, flush=True)


async def measure(steps: tuple[int, ...] = STEPS) -> list[Row]:
    bootstrap = os.environ.get("KPI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    async with running() as stack:
        log(f"stack {stack.run} up")
        fanout = await scale_fanout.measure(stack, bootstrap)
        log(f"(ii) {fanout}")
        measured = await tenant_steps(stack, steps)
        storage = await scale_storage.measure(stack)
        log(f"(iii) {storage}")
    return tenant_rows(measured) + fanout_rows(fanout) + storage_rows(storage)


async def tenant_steps(stack: ScaleStack, steps: tuple[int, ...]) -> list[Step]:
    tenants: list[ScaleTenant] = []
    out: list[Step] = []
    total_s = 0.0
    for count in steps:
        slugs = [f"scale-{n:04d}" for n in range(len(tenants), count)]
        applied = await scale_tenants.apply_many(stack, slugs)
        tenants += applied.tenants
        total_s += applied.wall_s
        timeout = 120 + count * 1.0
        tick = await scale_probe.measure_tick(stack, count * scale_tenants.KPIS, TICKS, timeout)
        step = Step(
            count,
            statistics.median(applied.seconds),
            total_s,
            applied.goals_cpu_s / len(slugs),
            tick,
            {name: stack.rss_mib(name) for name in SERVICES},
            await scale_probe.scorecard_ms(stack, tenants),
        )
        log(f"(i) {step}")
        out.append(step)
    return out


def exponent(x0: float, y0: float, x1: float, y1: float) -> float:
    """How y grows with x between two points: 1 is linear, 0 flat."""
    if y0 <= 0 or y1 <= 0:
        return 0.0 if y1 <= y0 else math.inf
    return math.log(y1 / y0) / math.log(x1 / x0)


def linear_row(figure: str, x: tuple[float, float], y: tuple[float, float]) -> Row:
    value = exponent(x[0], y[0], x[1], y[1])
    return Row(figure, value, "exponent", f"<= {LINEAR} (1 = linear)", value <= LINEAR)


def tenant_rows(steps: list[Step]) -> list[Row]:
    rows: list[Row] = []
    for s in steps:
        last = s is steps[-1]
        at = f"(scale i) {s.tenants:,} tenants, {s.kpis:,} KPIs:"
        tick_goal = f"< {TICK_GOAL_S:.0f}" if last else ""

        def ok(seconds: float, last: bool = last) -> bool | None:
            return seconds < TICK_GOAL_S if last else None

        rows += [
            Row(f"{at} apply, per tenant (p50)", s.apply_p50_s * 1000, "ms"),
            Row(f"{at} apply, all tenants so far", s.apply_total_s, "s"),
            Row(f"{at} goals CPU per tenant applied", s.goals_cpu_per_tenant_s * 1000, "ms"),
            Row(f"{at} tick{s.backlog}", s.tick.wall_s, "s", tick_goal, ok(s.tick.wall_s)),
            Row(f"{at} tick CPU{s.backlog}", s.tick.cpu_s, "s", tick_goal, ok(s.tick.cpu_s)),
            Row(f"{at} scorecard read (p50)", s.scorecard_ms, "ms"),
        ]
        for name, mib in s.rss_mib.items():
            goal = f"< {RSS_GOAL_MIB}" if last else ""
            rows.append(
                Row(f"{at} {name} RSS", mib, "MiB", goal, mib < RSS_GOAL_MIB if last else None)
            )
    return rows + tenant_curves(steps)


def tenant_curves(steps: list[Step]) -> list[Row]:
    if len(steps) < 3:
        return []
    first, a, b = steps[0], steps[-2], steps[-1]
    x = (float(a.kpis), float(b.kpis))
    span = f"{a.kpis:,} -> {b.kpis:,} KPIs"
    rows = [
        linear_row(f"(scale i) tick CPU growth, {span}", x, (a.tick.cpu_s, b.tick.cpu_s)),
        linear_row(f"(scale i) tick growth, {span}", x, (a.tick.wall_s, b.tick.wall_s)),
        linear_row(f"(scale i) apply per tenant growth, {span}", x, (a.apply_p50_s, b.apply_p50_s)),
        linear_row(f"(scale i) scorecard read growth, {span}", x, (a.scorecard_ms, b.scorecard_ms)),
    ]
    for name in ("evaluator", "notifier"):
        base = first.rss_mib[name]
        grown = (a.rss_mib[name] - base, b.rss_mib[name] - base)
        xs = (float(a.kpis - first.kpis), float(b.kpis - first.kpis))
        rows.append(linear_row(f"(scale i) {name} RSS above 1 tenant, growth, {span}", xs, grown))
    return rows


def fanout_rows(points: list[FanoutPoint]) -> list[Row]:
    rows = [
        Row(f"(scale ii) {p.kpis} KPIs on one metric: evaluator {label}", value, unit)
        for p in points
        for label, value, unit in (
            ("events/s", p.events_per_s, "events/s"),
            ("CPU per event", p.cpu_us_per_event, "us"),
        )
    ]
    if len(points) >= 2:
        a, b = points[-2], points[-1]
        x = (float(a.kpis), float(b.kpis))
        span = f"{a.kpis} -> {b.kpis} KPIs"
        cost = (a.cpu_us_per_event, b.cpu_us_per_event)
        rows.append(linear_row(f"(scale ii) CPU per event growth, {span}", x, cost))
    return rows


def storage_rows(storage: scale_storage.Storage) -> list[Row]:
    at = f"(scale iii) after {storage.events:,} events:"
    rows = [Row(f"{at} {label}", b, "bytes/event") for label, b in storage.bytes_per_event.items()]
    return [*rows, Row(f"{at} total", storage.total, "bytes/event")]


def main() -> int:
    """Measure, print the table, write it to bench-results/scale.md; 1 when a goal is missed."""
    rows = asyncio.run(measure())
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    text = render(rows, machine)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.md").write_text(text + "\n")
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
