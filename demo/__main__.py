"""`make demo`: the main job, end to end, on the local stack.

Starts a local SMTP sink and Slack stand-in, (re)starts the four services wired to them,
creates the acme tenant, applies examples/acme/strategy.yaml, replays a seeded quarter of
traffic with a few planted breaches, then prints the scorecard, the alignment findings, the
notifications that went out, and the URLs to open.
"""

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from demo import report, stack
from demo.tenant import DemoTenant
from demo.traffic import send_events, simulated_events, wait_for_evaluation

STRATEGY = Path("examples/acme/strategy.yaml")
console = Console()


def main() -> int:
    started = time.monotonic()
    console.rule("[bold]kpi-cascade demo")
    console.print("starting the SMTP sink and Slack stand-in, and the four services ...")
    sinks = stack.start_sinks()
    stack.restart_services()
    tenant = DemoTenant.open(stack.operator_token())
    console.print(f"tenant [bold]acme[/bold] ({tenant.tenant_id})")
    report.applied(console, tenant.apply(STRATEGY))
    events = simulated_events(STRATEGY, datetime.now(UTC))
    send_events(console, tenant, events)
    wait_for_evaluation(console, tenant, expected=len(events))
    report.scorecard(console, tenant.scorecard())
    report.alignment(console, tenant.alignment())
    report.notifications(console, tenant, sinks)
    report.urls(console)
    console.print(f"demo finished in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
