"""The demo's last act: a KPI added after the quarter was replayed shows the whole quarter.

The strategy goes to goals again with one more KPI over a metric that already streamed (the
example document itself is not changed: the KPI is added to a copy in memory). The evaluator
sees a new KPI in `goals.changes`, writes a recompute job in the same transaction, and folds
the archived events of that metric again. Everything shown is read from the product's APIs:
the job and its progress from `GET /v1/recomputes`, the KPI's actual from `GET /v1/scorecard`.
"""

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from kpi_cli.client import check
from rich.console import Console

from demo.tenant import DemoTenant, wait_until

ADDED_ID = "invoices-emea"
# counts the EMEA invoices that the replay already streamed (revenue-emea sums the same events)
ADDED_KPI: dict[str, Any] = {
    "id": ADDED_ID,
    "title": "EMEA invoices posted",
    "unit": "sales-emea",
    "owner": "lars",
    "so_that": "grow-revenue",
    "perspective": "financial",
    "measure": {
        "metric": "erp.invoice.posted",
        "aggregation": "count",
        "where": {"region": "emea"},
    },
    "period": "quarter",
    "direction": "increase",
    "unit_of_measure": "invoices",
    "target": 150,
}


@dataclass(frozen=True)
class Outcome:
    """What the APIs answered: the recompute job that added the KPI, and its scorecard row."""

    job: dict[str, Any]
    kpi: dict[str, Any]


def with_added_kpi(strategy: Path) -> bytes:
    """The strategy document with `ADDED_KPI` appended to its KPIs (a copy: the file stays)."""
    doc = yaml.safe_load(strategy.read_text())
    added = copy.deepcopy(doc)
    added["kpis"] = [*doc["kpis"], copy.deepcopy(ADDED_KPI)]
    return yaml.safe_dump(added, sort_keys=False).encode()


def recompute_jobs(tenant: DemoTenant) -> list[dict[str, Any]]:
    jobs = _get(tenant, "/v1/recomputes")["jobs"]
    return list(jobs)


def add_kpi(tenant: DemoTenant, strategy: Path, timeout_s: float = 300) -> Outcome:
    """Apply the strategy with the added KPI, wait for the recompute job the evaluator opens
    for it to finish, and read the KPI from the scorecard.

    A rerun of the demo first applied the example as it is, which removed the KPI (and its
    buckets): adding it again opens a new job, told apart from earlier ones by its id."""
    before = {job["id"] for job in recompute_jobs(tenant)}
    _apply(tenant, with_added_kpi(strategy))
    job = wait_until(
        f"the evaluator's recompute job for {ADDED_ID} (GET /v1/recomputes)",
        lambda: _finished_job(recompute_jobs(tenant), before),
        timeout_s,
    )
    kpi = wait_until(
        f"{ADDED_ID} on the scorecard",
        lambda: _scorecard_row(tenant),
        timeout_s,
    )
    return Outcome(job, kpi)


def show(console: Console, tenant: DemoTenant, strategy: Path) -> Outcome:
    console.rule(f"a KPI added after the replay: {ADDED_ID}")
    console.print(
        f"applying {strategy} again with one more KPI, {ADDED_ID} "
        f"(count of {ADDED_KPI['measure']['metric']} where region = emea, per quarter), "
        "over events that streamed before it existed ..."
    )
    outcome = add_kpi(tenant, strategy)
    console.print(job_line(outcome.job))
    console.print(kpi_line(outcome.kpi))
    return outcome


def job_line(job: dict[str, Any]) -> str:
    return (
        f"recompute job {job['id']} ({job['reason']}, {', '.join(job['kpis'])}): {job['state']}, "
        f"{job['events_done']} of {job['events_total']} archived events folded again, "
        f"attempt {job['attempts']}"
    )


def kpi_line(kpi: dict[str, Any]) -> str:
    return (
        f"scorecard: {kpi['title']} ({kpi['id']}) {kpi['status']}, actual {_plain(kpi['actual'])} "
        f"/ target {_plain(kpi['target'])} for the whole current quarter, counted from events that "
        "arrived before the KPI existed"
    )


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    v = float(value)
    return f"{v:.0f}" if v.is_integer() else f"{v:.2f}"


def _finished_job(jobs: list[dict[str, Any]], before: set[int]) -> dict[str, Any] | None:
    for job in jobs:
        if job["id"] not in before and ADDED_ID in job["kpis"] and job["state"] == "done":
            return job
    return None


def _scorecard_row(tenant: DemoTenant) -> dict[str, Any] | None:
    for kpi in _get(tenant, "/v1/scorecard")["kpis"]:
        if kpi["id"] == ADDED_ID and kpi["actual"] is not None:
            return dict(kpi)
    return None


def _get(tenant: DemoTenant, path: str) -> Any:
    headers = {"Authorization": f"Bearer {tenant.admin_key}"}
    return check(httpx.get(f"{tenant.urls.evaluator_url}{path}", headers=headers, timeout=30))


def _apply(tenant: DemoTenant, document: bytes) -> None:
    headers = {"Authorization": f"Bearer {tenant.admin_key}", "Content-Type": "application/yaml"}
    url = f"{tenant.urls.goals_url}/v1/strategy"
    check(httpx.put(url, content=document, headers=headers, timeout=60))
