"""Acknowledged means counted (issue 12), end to end through the real goals, metrics-ingest
and evaluator processes: apply a strategy with one `count` KPI and send three events at
once, with no wait between the two; every one of 20 trials must end with the actual equal to
the events sent, whichever reached the evaluator first. A resend counts nothing.

Before the archive and recomputation, the evaluator marked events seen before its copy of the
strategy had the KPI, and the actual stayed null for good."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.acme_stack import wait_until
from tests.support.procs import running

pytestmark = pytest.mark.e2e
TRIALS = 20
STRATEGY = """
version: 1
organization: {name: Trial}
units: [{id: sales, name: Sales}]
goals: [{id: grow, title: Grow, unit: sales}]
kpis:
  - id: deals
    title: Deals won
    unit: sales
    so_that: grow
    measure: {metric: crm.deal.won, aggregation: count}
    period: quarter
    target: 10
"""


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class Trial:
    """One tenant of its own: created, its keys known to ingest, nothing applied yet."""

    def __init__(self, goals: str, ingest: str, evaluator: str, operator: str) -> None:
        self.goals, self.ingest, self.evaluator = goals, ingest, evaluator
        slug = f"ack-{uuid.uuid4().hex[:8]}"
        made = httpx.post(f"{goals}/v1/tenants", json={"slug": slug}, headers=_bearer(operator))
        assert made.status_code == 201, made.text
        self.admin = _bearer(made.json()["admin_api_key"])
        issued = httpx.post(f"{goals}/v1/api-keys", json={"role": "ingest"}, headers=self.admin)
        assert issued.status_code == 201, issued.text
        self.sender = _bearer(issued.json()["api_key"])
        probe = {"id": f"probe-{slug}", "metric": "probe.ready", "value": 1}
        wait_until("ingest to take the key", lambda: self.send(probe).status_code == 202, 60)

    def send(self, events: Any) -> httpx.Response:
        return httpx.post(f"{self.ingest}/v1/events", json=events, headers=self.sender)

    def apply(self) -> None:
        resp = httpx.put(
            f"{self.goals}/v1/strategy",
            content=STRATEGY,
            headers={**self.admin, "Content-Type": "application/yaml"},
        )
        assert resp.status_code == 200, resp.text

    def actual(self) -> float | None:
        resp = httpx.get(f"{self.evaluator}/v1/kpis/deals/status", headers=self.admin)
        return resp.json().get("actual") if resp.status_code == 200 else None


def _counted(trial: Trial, n: int) -> Callable[[], bool]:
    return lambda: trial.actual() == n


def _deals(n: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat()
    return [
        {"id": f"deal-{i}", "metric": "crm.deal.won", "value": 1, "time": now} for i in range(n)
    ]


def test_apply_then_send_at_once_counts_every_event_20_times(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    operator = "op-" + uuid.uuid4().hex
    env = {**service_env, "KPI_OPERATOR_TOKEN": operator, "KPI_EVALUATOR_RECOMPUTE_POLL_S": "1"}
    with (
        running("goals", env, tmp_path) as goals,
        running("metrics-ingest", env, tmp_path) as ingest,
        running("evaluator", env, tmp_path) as evaluator,
    ):
        trials = [Trial(goals.url, ingest.url, evaluator.url, operator) for _ in range(TRIALS)]
        for trial in trials:  # no wait between the apply and the send
            trial.apply()
            sent = trial.send(_deals(3))
            assert sent.json()["accepted"] == 3, sent.text
        for n, trial in enumerate(trials):
            wait_until(f"trial {n} to count its 3 events", _counted(trial, 3), 60)
        again = trials[0].send(_deals(3))
        assert again.json() == {"accepted": 0, "duplicates": 3, "rejected": []}
        # one new deal after the resend, on the same (tenant, metric) partition: once it is
        # counted, a resend that had reached the evaluator would have been counted too
        fresh = {"id": "deal-fresh", "metric": "crm.deal.won", "value": 1}
        assert trials[0].send({**fresh, "time": datetime.now(UTC).isoformat()}).status_code == 202
        wait_until("the new deal after the resend to count", _counted(trials[0], 4), 60)
        assert [t.actual() for t in trials] == [4] + [3] * (TRIALS - 1)
