"""The bench's own tenant, created fresh on every run, with a small strategy: one `count`
KPI that every throughput event feeds, and `BREACH_KPIS` budget KPIs (a cumulative
`decrease` KPI goes off track at once when its cap is passed) that the latency run plants
one breach in each, and one more budget KPI (`PEER_KPI`) for the side-by-side breach of (g).
Breaches notify the KPI owner by email (the SMTP sink of demo.sinks)."""

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from kpi_cli.client import check
from kpi_cli.targets import GoalsTargets
from kpi_common.events import MetricObserved, make_envelope
from kpi_common.kafka import Outgoing
from kpi_common.topics import METRICS_EVENTS

from demo.tenant import new_ingest_key, wait_until

BREACH_KPIS = 40
THROUGHPUT_KPI = "bench-throughput"
THROUGHPUT_METRIC = "bench.e2e"
PEER_KPI = "bench-peer"
PEER_METRIC = "bench.peer.spend"
BUDGET_USD = 10  # the target written for every budget KPI (read back from goals: target())
SERVICES = {"goals": 8001, "ingest": 8002, "evaluator": 8003, "notifier": 8004}


def service_url(name: str) -> str:
    """`KPI_<NAME>_URL`, else `http://127.0.0.1:$KPI_<NAME>_PORT` (the port the services got)."""
    upper = name.upper()
    port = os.environ.get(f"KPI_{upper}_PORT", str(SERVICES[name]))
    return os.environ.get(f"KPI_{upper}_URL", f"http://127.0.0.1:{port}")


def observed(prefix: str, tenant_id: str, metric: str, event_id: str) -> Outgoing:
    """One `metric.observed` of `metric` (value 1, region emea, now) as metrics-ingest
    publishes it, for the runs that feed the evaluator's topic directly."""
    now = datetime.now(UTC)
    data = MetricObserved(
        metric=metric, value=1, time=now, dimensions={"region": "emea"}, received_at=now
    )
    envelope = make_envelope(
        id=event_id, tenant_id=tenant_id, producer="metrics-ingest", time=now, data=data
    )
    return Outgoing(prefix + METRICS_EVENTS.name, f"{tenant_id}:{metric}", envelope)


def breach_kpi(n: int) -> str:
    return f"bench-breach-{n:02d}"


def breach_metric(n: int) -> str:
    return f"bench.breach.k{n:02d}"


@dataclass(frozen=True)
class BenchTenant:
    run: str
    tenant_id: str
    admin_key: str
    ingest_key: str

    @classmethod
    def create(cls, operator_token: str) -> "BenchTenant":
        run = uuid.uuid4().hex[:8]
        goals = service_url("goals")
        auth = {"Authorization": f"Bearer {operator_token}"}
        created = check(
            httpx.post(f"{goals}/v1/tenants", json={"slug": f"bench-{run}"}, headers=auth)
        )
        admin = created["admin_api_key"]
        ingest = new_ingest_key(goals, admin, "bench", timeout_s=5)  # httpx's default, as before
        tenant = cls(run, created["tenant_id"], admin, ingest)
        doc = strategy(run)
        check(httpx.put(f"{goals}/v1/strategy", json=doc, headers=tenant.admin, timeout=60))
        return tenant

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    @property
    def ingest(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ingest_key}", "Content-Type": "application/json"}

    def target(self, kpi_id: str, at: datetime | None = None) -> float:
        """The KPI's target in the period that holds `at` (default: now), as goals resolves
        it on the tenant's fiscal calendar."""
        at = at or datetime.now(UTC)
        with httpx.Client(base_url=service_url("goals"), headers=self.admin, timeout=10) as http:
            target = GoalsTargets(http)(kpi_id, at).target
        if target is None:
            raise RuntimeError(f"goals has no target for {kpi_id} in the period of {at}")
        return target

    def kpi_status(self, kpi_id: str) -> dict[str, Any]:
        url = f"{service_url('evaluator')}/v1/kpis/{kpi_id}/status"
        return dict(check(httpx.get(url, headers=self.admin, timeout=10)))

    def wait_ready(self) -> None:
        """Until ingest knows the key, and evaluator and notifier know the strategy."""
        ingest = f"{service_url('ingest')}/v1/events"
        notifier = f"{service_url('notifier')}/v1/notifications"
        wait_until(
            "ingest to learn the key", lambda: _status(ingest, self.ingest, post=True) == 202
        )
        last = breach_kpi(BREACH_KPIS - 1)
        wait_until("evaluator to learn the strategy", lambda: self.kpi_status(last))
        wait_until("evaluator to learn the peer KPI", lambda: self.kpi_status(PEER_KPI))
        wait_until("notifier to learn the key", lambda: _status(notifier, self.admin) == 200)


def _status(url: str, headers: dict[str, str], post: bool = False) -> int:
    if post:
        return httpx.post(url, content=b"[]", headers=headers, timeout=10).status_code
    return httpx.get(url, headers=headers, timeout=10).status_code


def peer_title(run: str) -> str:
    return f"Bench peer {run}"


def strategy(run: str) -> dict[str, Any]:
    kpi = {"unit": "bench", "owner": "ops", "so_that": "keep-up", "perspective": "internal_process"}
    breaches = [
        budget(kpi, breach_kpi(n), f"Bench budget {run} {n:02d}", breach_metric(n))
        for n in range(BREACH_KPIS)
    ]
    peer = budget(kpi, PEER_KPI, peer_title(run), PEER_METRIC)
    throughput = {
        **kpi,
        "id": THROUGHPUT_KPI,
        "title": "Bench events",
        "measure": {"metric": THROUGHPUT_METRIC, "aggregation": "count"},
        "period": "year",
        "direction": "increase",
        "unit_of_measure": "events",
        "target": 1_000_000_000_000,
    }
    return {
        "version": 1,
        "organization": {"name": f"Bench {run}", "timezone": "UTC"},
        "units": [{"id": "bench", "name": "Bench"}],
        "people": [{"id": "ops", "name": "Ops", "unit": "bench", "email": "ops@bench.example"}],
        "goals": [
            {
                "id": "keep-up",
                "unit": "bench",
                "owner": "ops",
                "title": "Keep up with the load",
                "perspective": "internal_process",
            }
        ],
        "kpis": [throughput, *breaches, peer],
        "alerts": {"routes": [{"notify": ["owner"]}]},
    }


def budget(kpi: dict[str, str], kpi_id: str, title: str, metric: str) -> dict[str, Any]:
    """A cumulative spend KPI over the year, off track as soon as it passes its budget."""
    return {
        **kpi,
        "id": kpi_id,
        "title": title,
        "measure": {"metric": metric, "aggregation": "sum"},
        "period": "year",
        "direction": "decrease",
        "unit_of_measure": "USD",
        "target": BUDGET_USD,
    }
