"""`make bench`: speed and memory figures on this machine, printed as one table and written to
bench-results/latest.md. The services are (re)started here, wired to the demo's sinks.

(a) the ceiling, raw aiokafka produce-then-consume on the same broker with our producer
settings; (b) ingest HTTP throughput, single-event requests and 100-event batches; (c)
sustained end-to-end events/s from HTTP to persisted actuals, with the evaluator's lag; (d)
the ratio (c)/(a); (e) at half of (c): ingest, event-to-status and event-to-notification
latency; (f) peak RSS of each service; (g) the same breach fed to kpi-cascade and to
Prometheus + Alertmanager, breach-to-notification latency of both; (h) the evaluator's
recompute speed over 1,000,000 archived events and the archive's bytes per event; (i) the
evaluator's CPU per event before and with the archive, side by side in the same session; (j)
the highest offered rate the evaluator keeps up with for 60 s, 1 and 2 replicas
(bench/sustained.py); (web) the web view's server time per page for an acme tenant. See
docs/benchmarks.md.

    python -m bench [--only peer] [--peer-intervals 15,15,30] [--peer-ports BASE]
    python -m bench --scale    (the cost curves alone: bench/scale.py)
"""

import argparse
import asyncio
import os
import platform
import sys
from pathlib import Path

from kpi_localinfra import processes

from bench import ceiling, e2e, hotpath, ingest, latency, memory, peer, recompute, scale, web
from bench.peerstack import Intervals, require_binaries
from bench.sustained import measure as search_sustained
from bench.table import Row, render
from bench.tenant import BenchTenant
from demo import stack

RESULTS = Path("bench-results")


# the demo's wiring, on the real clock, with breaches opening at once (the demo delays them)
BENCH_ENV = {"KPI_EVALUATOR_BREACH_FOR_S": "0", "KPI_EVALUATOR_TICK_S": "30"}


def start_services() -> Path:
    """(Re)start the sinks and the four services; returns the sinks' folder."""
    stack.stop_all()
    sinks = stack.start_sinks()
    processes.up(stack.RUN, {**stack.service_env(), **BENCH_ENV})
    return sinks


def progress(rows: list[Row]) -> list[Row]:
    """Show each figure as it is measured (the table comes at the end)."""
    for r in rows:
        print(f"  {r.figure}: {r.value:,.1f} {r.unit}", file=sys.stderr, flush=True)
    return rows


async def run(args: argparse.Namespace) -> list[Row]:
    bootstrap = os.environ.get("KPI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    rows = [] if args.only else progress(await ceiling.measure(bootstrap))
    sinks = start_services()
    tenant = BenchTenant.create(stack.operator_token())
    await asyncio.to_thread(tenant.wait_ready)
    if not args.only:
        rows += progress(await ingest.measure(tenant))
        e2e_rows, sustained = await e2e.measure(tenant)
        rows += progress([*e2e_rows, ratio(sustained.rate, rows[2].value)])
        rows += progress(await latency.measure(tenant, sustained.rate / 2, sinks, bootstrap))
        env = {**stack.service_env(), **BENCH_ENV}
        rows += progress(await search_sustained(rows[2].value, sustained.applied_rate, env))
        rows += memory.measure()
        rows += progress(await recompute.measure())
        rows += progress(await hotpath.measure(tenant))
        rows += progress(await asyncio.to_thread(web.measure, stack.operator_token()))
    return rows + progress(await asyncio.to_thread(side_by_side, args, tenant, sinks))


def side_by_side(args: argparse.Namespace, tenant: BenchTenant, sinks: Path) -> list[Row]:
    return peer.measure(tenant, sinks, stack.SMTP_PORT, args.peer_intervals, args.peer_ports)


def ratio(end_to_end: float, ceiling_rate: float) -> Row:
    value = end_to_end / ceiling_rate
    return Row("(d) ratio (c) / (a) produce then consume", value, "", ">= 0.25", value >= 0.25)


def intervals(text: str) -> Intervals:
    scrape, evaluation, group_wait = (int(part) for part in text.split(","))
    return Intervals(scrape, evaluation, group_wait)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", choices=["peer"], help="run only this phase (peer: (g))")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="only the cost curves (1 to 1,000 tenants, KPIs per metric, bytes per event), "
        "in a stack of their own; writes bench-results/scale.md",
    )
    parser.add_argument(
        "--peer-intervals",
        type=intervals,
        default=Intervals(),
        metavar="SCRAPE,EVAL,GROUP_WAIT",
        help="(g) Prometheus scrape and evaluation intervals, Alertmanager group_wait, in "
        "seconds (default 15,15,30)",
    )
    parser.add_argument(
        "--peer-ports",
        type=int,
        default=0,
        metavar="BASE",
        help="(g) Prometheus on BASE, Alertmanager on BASE+1, the exporter on BASE+2 "
        "(default: free ports)",
    )
    return parser.parse_args(argv)


def main() -> int:
    args = parse()
    if args.scale:
        return scale.main()
    try:
        require_binaries()  # before minutes of measuring, not after
    except RuntimeError as missing:
        print(f"bench: {missing}", file=sys.stderr)
        return 2
    rows = asyncio.run(run(args))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    text = render(rows, machine)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("peer.md" if args.only else "latest.md")).write_text(text + "\n")
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
