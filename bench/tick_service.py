"""The evaluator service's settled tick and RSS at 1,000 to 20,000 KPIs, as the scale run
reads them, in a few minutes (docs/benchmarks.md, "Cost curves", profile note).

`python -m bench.tick_service [--steps 20,100,200,400] [--pyspy DIR]`

The evaluator alone runs as its own process (`python -m kpi_evaluator.main`, on a free port in
20000-30000, `KPI_EVALUATOR_TICK_S=5` as in the scale run) against a scratch database
`kpi_bench_tick_<run>` and topics prefixed `bench-tick-<run>.`, both dropped at the end (also
on failure or Ctrl-C). Each step produces onto its `goals.changes` the records goals would
publish for the new tenants (`bench.tick_probe.records`: the scale run's 50-KPI strategy),
then reads the settled periodic tick as `make bench-scale` does (`bench.scale_probe.
measure_tick`: every tenant known, recompute jobs done, one more tick, then the mean of the
next ones from `evaluator_tick_duration_seconds` and `evaluator_tick_cpu_seconds_total`), and
the process's `VmRSS` and `VmHWM`. With `--pyspy DIR`, `py-spy record` samples the process
over those ticks (`DIR/tick-<kpis>.txt`, collapsed stacks).
"""

import argparse
import asyncio
import math
import os
import random
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

from kpi_common.kafka import create_producer, running
from kpi_common.logging import configure_logging
from kpi_common.topic_admin import drop_topics
from kpi_common.topics import GOALS_CHANGES
from kpi_localinfra.processes import SERVICES, ServiceProcess

from bench.memory import proc_status_kib
from bench.scale_probe import Tick, measure_tick
from bench.scale_tenants import KPIS
from bench.scalestack import ScaleStack
from bench.tick_probe import records, scratch

TICKS = 3
TIMEOUT_S = 900.0


def free_port() -> int:
    """A free port in 20000-30000 (the range the shared machine leaves to such checks)."""
    while True:
        port = random.randint(20000, 30000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def start(
    database_url: str, bootstrap: str, prefix: str, logs: Path, extra: dict[str, str]
) -> ServiceProcess:
    spec = next(s for s in SERVICES if s.name == "evaluator")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")}
    env |= {
        "KPI_DATABASE_URL": database_url,
        "KPI_KAFKA_BOOTSTRAP": bootstrap,
        "KPI_TOPIC_PREFIX": prefix,
        "KPI_EVALUATOR_TICK_S": "5",
        "KPI_LOG_LEVEL": "WARNING",
        **extra,
    }
    logs.mkdir(parents=True, exist_ok=True)
    svc = ServiceProcess(spec, env, logs / "bench-tick-evaluator.log", free_port())
    svc.start()
    svc.wait_ready(120)
    return svc


async def produce(bootstrap: str, topic: str, tenants: range) -> None:
    producer = create_producer(bootstrap)
    async with running(producer):
        for n in tenants:
            tenant = f"t{n:05d}"
            for raw in records(tenant):
                await producer.send(topic, raw, key=tenant.encode())
        await producer.flush()


def pyspy(pid: int, seconds: float, out: Path) -> "subprocess.Popen[bytes]":
    exe = Path(sys.executable).with_name("py-spy")
    cmd = [str(exe), "record", "--pid", str(pid), "--duration", str(int(seconds)),
           "--rate", "50", "--format", "raw", "--output", str(out), "--nonblocking"]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def run(steps: list[int], spy: Path | None, extra: dict[str, str]) -> None:
    bootstrap = os.environ.get("KPI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    run_id = os.urandom(4).hex()
    prefix = f"{os.environ.get('KPI_TOPIC_PREFIX', '')}bench-tick-{run_id}."
    async with scratch() as url:
        svc = await asyncio.to_thread(start, url, bootstrap, prefix, Path(".local/run"), extra)
        stack = ScaleStack(run_id, url, prefix, secrets.token_urlsafe(8), {"evaluator": svc})
        made, last = 0, None
        try:
            for tenants in steps:
                cpu, started = stack.cpu_seconds("evaluator"), time.monotonic()
                await produce(bootstrap, GOALS_CHANGES.qualified(prefix), range(made, tenants))
                made, kpis = tenants, tenants * KPIS
                tick = await measure_tick(stack, kpis, TICKS, TIMEOUT_S)
                step = (stack.cpu_seconds("evaluator") - cpu, time.monotonic() - started)
                report(stack, kpis, tick, last, step)
                last = (kpis, tick.cpu_s)
            if spy:  # the settled ticks of the last step, and whatever runs beside them
                out = spy / f"tick-{made * KPIS}.txt"
                await asyncio.to_thread(pyspy(stack.pid("evaluator"), 45, out).wait)
        finally:
            svc.stop()
            await drop_topics(bootstrap, prefix)


def report(
    stack: ScaleStack,
    kpis: int,
    tick: Tick,
    last: tuple[int, float] | None,
    step: tuple[float, float],
) -> None:
    growth = ""
    if last:
        e = math.log(tick.cpu_s / last[1]) / math.log(kpis / last[0])
        growth = f", CPU growth exponent {e:.2f} from {last[0]}"
    pid = stack.pid("evaluator")
    rss, peak = (proc_status_kib(pid, f) / 1024 for f in ("VmRSS", "VmHWM"))
    load = os.getloadavg()
    print(
        f"{kpis:6d} KPIs: settled tick CPU {tick.cpu_s:.3f} s ({tick.cpu_s / kpis * 1e6:.0f} "
        f"µs/KPI), wall {tick.wall_s:.3f} s{growth}; backlog {tick.backlog}; step CPU "
        f"{step[0]:.1f} s in {step[1]:.0f} s; RSS {rss:.0f} MiB, peak {peak:.0f} MiB; "
        f"load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="20,100,200,400", help="tenants after each step")
    parser.add_argument("--pyspy", type=Path, help="py-spy the settled ticks into this folder")
    parser.add_argument(
        "--env", action="append", default=[], help="KPI_...=value for the evaluator (repeat)"
    )
    args = parser.parse_args()
    configure_logging("bench-tick", "WARNING")
    if args.pyspy:
        args.pyspy.mkdir(parents=True, exist_ok=True)
    extra = dict(e.split("=", 1) for e in args.env)
    asyncio.run(run(sorted(int(s) for s in args.steps.split(",")), args.pyspy, extra))


if __name__ == "__main__":
    main()
