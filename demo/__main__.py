"""`make demo`: the main job, end to end, on the local stack.

Starts a local SMTP sink and Slack stand-in and the four services on the demo clock,
creates the acme tenant, applies examples/acme/strategy.yaml, configures its sources, replays
a seeded quarter through the real source adapters (HubSpot and billing webhooks, Debezium
rows, CloudEvents), applies the strategy again with one more KPI over a metric that already
streamed and waits for its recompute, then prints the scorecard, the alignment findings, the
notifications that went out, and the URLs to open; starts the web view and writes screenshots
of its strategy map and one KPI page. See docs/demo.md.
"""

import sys
import time
from pathlib import Path

from rich.console import Console

from demo import added_kpi, incidents, report, stack, traffic, web
from demo.clock import DEMO_NOW, QUARTER_START, set_clock
from demo.tenant import DemoTenant, wait_until

STRATEGY = Path("examples/acme/strategy.yaml")
# a report read in a log or CI output too: wide enough for the tree when not a terminal
console = Console(width=None if sys.stdout.isatty() else 120)


def main() -> int:
    started, since_ns = time.monotonic(), time.time_ns()
    console.rule("[bold]kpi-cascade demo")
    console.print(f"demo clock: the quarter replays from {QUARTER_START:%Y-%m-%d} to {DEMO_NOW}")
    sinks, tenant = _set_up()
    with tenant.targets() as targets:  # the targets of the strategy goals just applied
        events = traffic.simulated_events(STRATEGY, targets)
    report.sent(console, len(events), traffic.replay(console, tenant, events))
    traffic.wait_for_cdc(tenant)
    report.mistyped(console, tenant.send_mistyped(report.MISTYPED))
    console.print(f"replay done after {time.monotonic() - started:.0f}s")
    console.print("starting the evaluator and the notifier on the demo clock ...")
    stack.start(("evaluator", "notifier"))
    traffic.wait_for_evaluation(console, tenant)
    added_kpi.show(console, tenant, STRATEGY)
    _report(tenant, sinks, since_ns)
    console.print(f"demo finished in {time.monotonic() - started:.0f}s")
    return 0


def _set_up() -> tuple[Path, DemoTenant]:
    """Sinks, goals and ingest on the demo clock; the tenant, its strategy and sources."""
    console.print("starting the SMTP sink, the Slack stand-in, goals and metrics-ingest ...")
    stack.stop_all()
    set_clock(stack.CLOCK_FILE, QUARTER_START)
    sinks = stack.start_sinks()
    stack.start(("goals", "metrics-ingest"))
    tenant = DemoTenant.open(stack.operator_token())
    console.print(f"tenant [bold]acme[/bold] ({tenant.tenant_id})")
    report.applied(console, tenant.apply(STRATEGY))
    wait_until("metrics-ingest to learn the demo's keys", tenant.ingest_knows_key)
    console.print("sources: " + ", ".join(tenant.configure_sources()))
    return sinks, tenant


def _report(tenant: DemoTenant, sinks: Path, since_ns: int) -> None:
    card = tenant.scorecard()
    report.scorecard(console, card)
    report.alignment(console, tenant.alignment(), tenant.review_findings(), tenant.data_health())
    report.notifications(console, sinks, since_ns)
    mail, slack = stack.read_sink(sinks, "mail"), stack.read_sink(sinks, "slack")
    incidents.show(console, tenant.incidents(), tenant.notifications(), mail, slack)
    report.urls(console)
    web.show(console, tenant)


if __name__ == "__main__":
    sys.exit(main())
