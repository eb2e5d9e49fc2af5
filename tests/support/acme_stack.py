"""The four services as processes on free ports, and an acme tenant that applies
examples/acme/strategy.yaml and sends a simulated quarter of traffic through the real APIs
(its targets asked from goals, as `kpi simulate` does)."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from kpi_cli.simulation import Simulation
from kpi_cli.targets import GoalsTargets

from tests.integration.kpi_notifier.servers import SmtpServer
from tests.support.procs import ServiceProcess, service
from tests.support.strategy_events import ACME

NAMES = ("goals", "metrics-ingest", "evaluator", "notifier")
OPERATOR = "acme-stack-operator-token"
# planted so that breaches open (emails to owners, Slack channels without a webhook fail)
PLANTS = {"new-clients": "breach", "cash-flow": "breach", "csat": "at_risk"}


@contextmanager
def running_stack(
    env: dict[str, str], log_dir: Path
) -> Iterator[tuple[dict[str, ServiceProcess], SmtpServer]]:
    """The four services, ready, with the notifier mailing a local SMTP server."""
    smtp = SmtpServer()
    smtp.start()
    procs = {n: service(n, {**env, **_own_env(n, smtp.port)}, log_dir / f"{n}.log") for n in NAMES}
    try:
        for p in procs.values():
            p.start()
        for p in procs.values():
            p.wait_ready(timeout_s=120)
        yield procs, smtp
    finally:
        for p in procs.values():
            p.stop()
        smtp.stop()


def _own_env(name: str, smtp_port: int) -> dict[str, str]:
    return {
        "goals": {"KPI_OPERATOR_TOKEN": OPERATOR},
        "evaluator": {"KPI_EVALUATOR_TICK_S": "2"},
        "notifier": {
            "KPI_SMTP_HOST": "127.0.0.1",
            "KPI_SMTP_PORT": str(smtp_port),
            "KPI_NOTIFIER_MAX_ATTEMPTS": "1",
            "KPI_NOTIFIER_SENDER_POLL_S": "0.2",
        },
    }.get(name, {})


def wait_until(what: str, ready: Any, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if got := ready():
            return got
        time.sleep(0.3)
    raise TimeoutError(f"timed out waiting for {what}")


class Tenant:
    """The acme tenant, created through the goals API, and the traffic it sends."""

    def __init__(self, procs: dict[str, ServiceProcess]) -> None:
        self.urls = {n: p.url for n, p in procs.items()}
        created = httpx.post(
            f"{self.urls['goals']}/v1/tenants",
            json={"slug": "acme"},
            headers=_auth(OPERATOR),
            timeout=30,
        ).json()
        self.id, self.admin = created["tenant_id"], created["admin_api_key"]
        self.ingest = self._post("goals", "/v1/api-keys", {"role": "ingest", "name": "dash"}, 201)[
            "api_key"
        ]

    def _post(self, svc: str, path: str, body: Any, status: int, key: str = "") -> Any:
        r = httpx.post(
            f"{self.urls[svc]}{path}", json=body, headers=_auth(key or self.admin), timeout=60
        )
        assert r.status_code == status, r.text
        return r.json()

    def apply(self, doc: dict[str, Any] | None = None) -> None:
        """Apply examples/acme/strategy.yaml, or `doc`."""
        body = ACME.read_bytes() if doc is None else yaml.safe_dump(doc, allow_unicode=True)
        r = httpx.put(
            f"{self.urls['goals']}/v1/strategy",
            content=body,
            headers={**_auth(self.admin), "Content-Type": "application/yaml"},
            timeout=60,
        )
        assert r.status_code == 200, r.text

    def evaluated(self, kpi: str) -> bool:
        """Whether the evaluator has a status other than no_data for `kpi`."""
        answer = httpx.get(
            f"{self.urls['evaluator']}/v1/kpis/{kpi}/status", headers=_auth(self.admin), timeout=30
        )
        return answer.status_code == 200 and answer.json()["status"] != "no_data"

    def dead_letter(self, source_id: str) -> None:
        """A source payload no mapping rule can read: dead-lettered as a whole."""
        url = f"{self.urls['metrics-ingest']}/v1/sources/{source_id}"
        body = {
            "kind": "generic",
            "signature": {"scheme": "static_header", "secret": "dashboards-secret"},
            "mapping": [{"id": "id", "metric": "'web.session'", "value": "value"}],
        }
        wait_until(
            "ingest to know the admin key",
            lambda: (
                httpx.put(url, json=body, headers=_auth(self.admin), timeout=30).status_code
                in (200, 201)
            ),
        )
        r = httpx.post(
            f"{url}/webhook",
            json={"unreadable": True},
            headers={"X-Api-Key": "dashboards-secret"},
            timeout=30,
        )
        assert r.status_code == 202, r.text

    def simulated_events(self, now: datetime) -> list[dict[str, Any]]:
        """Traffic up to `now`, sized from the targets goals answers for this tenant."""
        doc = yaml.safe_load(ACME.read_text())
        url, auth = self.urls["goals"], _auth(self.admin)
        with httpx.Client(base_url=url, headers=auth, timeout=30) as http:
            return Simulation(doc, now, GoalsTargets(http), seed=7, plants=PLANTS).events()

    def send(self, events: list[dict[str, Any]]) -> None:
        url = "/v1/events"
        wait_until(
            "ingest to know the ingest key",
            lambda: (
                httpx.post(
                    f"{self.urls['metrics-ingest']}{url}",
                    json=[],
                    headers=_auth(self.ingest),
                    timeout=30,
                ).status_code
                == 202
            ),
        )
        for i in range(0, len(events), 1000):
            self._post("metrics-ingest", url, events[i : i + 1000], 202, self.ingest)
        bad = {"id": "dash-bad", "metric": "web.session", "value": "lots", "time": "2026-01-01"}
        assert self._post("metrics-ingest", url, [bad], 202, self.ingest)["rejected"]


@dataclass(frozen=True)
class WebStack:
    """The four services and the web view, with the acme tenant and a simulated quarter."""

    url: str  # the web view's
    viewer: str  # a viewer key of the tenant
    tenant: Tenant
    doc: dict[str, Any]


@contextmanager
def running_web_stack(
    env: dict[str, str], log_dir: Path, doc: dict[str, Any]
) -> Iterator[WebStack]:
    """`running_stack` with the acme tenant on `doc`, its simulated traffic evaluated (its
    new-clients has a status), and the web view reading the three services."""
    with running_stack(env, log_dir) as (procs, _smtp):
        tenant = Tenant(procs)
        tenant.apply(doc)
        tenant.send(tenant.simulated_events(datetime.now(UTC)))
        viewer = tenant._post("goals", "/v1/api-keys", {"role": "viewer", "name": "web"}, 201)
        urls = {
            f"KPI_WEB_{n.upper()}_URL": procs[n].url for n in ("goals", "evaluator", "notifier")
        }
        web = service("web", {**env, **urls}, log_dir / "web.log")
        web.start()
        try:
            web.wait_ready()
            wait_until("new-clients evaluated", lambda: tenant.evaluated("new-clients"))
            yield WebStack(web.url, viewer["api_key"], tenant, doc)
        finally:
            web.stop()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
