"""(web) The web view's server time per page for an acme tenant: a tenant of its own with
examples/acme/strategy.yaml and a simulated quarter of traffic (as `kpi simulate` sends),
signed in with a viewer key; each page asked `ROUNDS` times in a row after `WARMUP`, the
figure being the server's own time (`Server-Timing: app;dur=`, from the request's arrival
to its answer's start, which includes the reads from goals, evaluator and notifier)."""

import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from kpi_cli.simulation import Simulation, Targets
from kpi_cli.targets import GoalsTargets
from kpi_localinfra import processes

from bench.table import Row
from bench.tenant import service_url
from demo.tenant import new_ingest_key

ACME = Path("examples/acme/strategy.yaml")
PAGES = {"strategy map": "/map", "scorecard sales": "/units/sales",
         "KPI new-clients": "/kpis/new-clients",
         "review pack (HTML)": "/reviews/quarterly-business-review/pack"}  # fmt: skip
PDF = "/reviews/quarterly-business-review/pack.pdf"  # rendered a few times, no goal
PDF_ROUNDS = 3
PLANTS = {"new-clients": "breach", "cash-flow": "breach", "csat": "at_risk"}
WARMUP, ROUNDS, LIMIT_MS = 3, 30, 200.0


def measure(operator_token: str) -> list[Row]:
    viewer = acme_tenant(operator_token)
    web = f"http://127.0.0.1:{processes.port_of(processes.WEB, os.environ)}"
    with httpx.Client(base_url=web, timeout=30) as http:
        signed = http.post("/login", data={"key": viewer, "next": "/map"})
        assert signed.status_code == 303, signed.text
        rows = [row(name, times(http, path)) for name, path in PAGES.items()]
        pdf = sorted(_server_ms(http.get(PDF, timeout=120)) for _ in range(PDF_ROUNDS))
        return [*rows, Row("(web) review pack PDF server time median", pdf[1], "ms")]


def times(http: httpx.Client, path: str) -> list[float]:
    for _ in range(WARMUP):
        http.get(path)
    found = []
    for _ in range(ROUNDS):
        found.append(_server_ms(http.get(path)))
    return sorted(found)


def _server_ms(answer: httpx.Response) -> float:
    assert answer.status_code == 200, f"{answer.url}: {answer.status_code}"
    return float(answer.headers["server-timing"].partition("dur=")[2])


def row(name: str, ms: list[float]) -> Row:
    p95 = ms[int(0.95 * (len(ms) - 1))]
    return Row(f"(web) {name} server time p95", p95, "ms", f"< {LIMIT_MS:.0f}", p95 < LIMIT_MS)


def acme_tenant(operator_token: str) -> str:
    """A new tenant with the acme strategy and a simulated quarter; returns a viewer key."""
    goals, ingest = service_url("goals"), service_url("ingest")
    created = _post(goals, "/v1/tenants", {"slug": f"web-{uuid.uuid4().hex[:8]}"}, operator_token)
    admin = created["admin_api_key"]
    applied = httpx.put(
        f"{goals}/v1/strategy", content=ACME.read_bytes(), timeout=60,
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/yaml"},
    )  # fmt: skip
    applied.raise_for_status()
    sender = new_ingest_key(goals, admin, "bench web")
    for i, events in enumerate(_batches(goals, admin)):
        _send(ingest, sender, events, first=i == 0)
    _wait_evaluated(admin)
    return str(_post(goals, "/v1/api-keys", {"role": "viewer", "name": "bench"}, admin)["api_key"])


def _batches(goals: str, admin: str) -> list[list[dict[str, Any]]]:
    doc = yaml.safe_load(ACME.read_text())
    auth = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=goals, headers=auth, timeout=30) as http:
        events = simulated_events(doc, GoalsTargets(http), datetime.now(UTC))
    return [events[i : i + 1000] for i in range(0, len(events), 1000)]


def simulated_events(doc: dict[str, Any], targets: Targets, now: datetime) -> list[dict[str, Any]]:
    """The run's traffic up to `now`, each KPI's periods and targets from `targets` (goals)."""
    return Simulation(doc, now, targets, 7, PLANTS).events()


def _send(ingest: str, key: str, events: list[dict[str, Any]], first: bool) -> None:
    """The first batch is retried until ingest knows the new key."""
    deadline = time.monotonic() + (60 if first else 0)
    while True:
        answer = httpx.post(f"{ingest}/v1/events", json=events, timeout=60,
                            headers={"Authorization": f"Bearer {key}"})  # fmt: skip
        if answer.status_code == 202 or time.monotonic() > deadline:
            answer.raise_for_status()
            return
        time.sleep(0.5)


def _wait_evaluated(admin: str, timeout_s: float = 120) -> None:
    url = f"{service_url('evaluator')}/v1/kpis/new-clients/status"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = httpx.get(url, headers={"Authorization": f"Bearer {admin}"}, timeout=30)
        if answer.status_code == 200 and answer.json()["status"] != "no_data":
            return
        time.sleep(1)
    raise TimeoutError("the evaluator did not evaluate the acme tenant's new-clients in time")


def _post(base: str, path: str, body: dict[str, Any], key: str) -> Any:
    answer = httpx.post(f"{base}{path}", json=body, timeout=30,
                        headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    answer.raise_for_status()
    return answer.json()
