"""The demo's traffic: seeded events with planted breaches, sent with a progress bar."""

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from kpi_cli.client import check
from kpi_cli.simulation import Simulation
from rich.console import Console
from rich.progress import Progress

from demo.tenant import DemoTenant

SEED = 2026
# what the demo plants, so every status shows up on the scorecard
PLANTS = {
    "new-clients": "breach",
    "cash-flow": "breach",
    "csat": "at_risk",
    "qualified-leads": "achieved",
    "engagement": "silent",
}
BATCH = 500


def simulated_events(strategy: Path, now: datetime) -> list[dict[str, Any]]:
    doc = yaml.safe_load(strategy.read_text())
    return Simulation(doc, now, seed=SEED, plants=PLANTS).events()


def send_events(console: Console, tenant: DemoTenant, events: list[dict[str, Any]]) -> None:
    url = f"{tenant.urls.ingest_url}/v1/events"
    headers = {"Authorization": f"Bearer {tenant.ingest_key}"}
    tenant.wait_until("metrics-ingest to learn the demo's key", lambda: _key_known(url, headers))
    accepted = duplicates = 0
    with httpx.Client(headers=headers, timeout=60) as client, Progress(console=console) as bar:
        task = bar.add_task("replaying a quarter of traffic", total=len(events))
        for i in range(0, len(events), BATCH):
            body = check(client.post(url, json=events[i : i + BATCH]))
            accepted += body["accepted"]
            duplicates += body["duplicates"]
            if body.get("rejected"):
                console.print(f"[yellow]rejected:[/yellow] {body['rejected'][:3]}")
            bar.advance(task, len(events[i : i + BATCH]))
    console.print(f"sent {len(events)} events: {accepted} accepted, {duplicates} duplicates")


def _key_known(url: str, headers: dict[str, str]) -> bool:
    return httpx.post(url, json=[], headers=headers, timeout=10).status_code != 401


def wait_for_evaluation(console: Console, tenant: DemoTenant, expected: int) -> None:
    """Wait until the scorecard stops changing: the evaluator has caught up."""
    console.print(f"waiting for the evaluator to fold {expected} events in ...")
    last: Any = None
    steady = 0
    deadline = time.monotonic() + 180
    while steady < 3 and time.monotonic() < deadline:
        time.sleep(1.0)
        try:
            now = tenant.scorecard()
        except Exception:
            continue
        steady = steady + 1 if now == last else 0
        last = now
    # give the breaches a moment to travel evaluator -> notifier -> sinks
    time.sleep(3)
