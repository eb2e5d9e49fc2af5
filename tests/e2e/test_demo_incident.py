"""`make demo` shows an incident: the demo's own plants (demo/traffic.py), sent to the four
services as processes with the demo's breach duration and grouping window, leave both regions
short so that `revenue` breaches too; the notifier forms one incident naming both regions as
causes, and the demo's report (demo/incidents.py) prints it, with the one email per recipient
it caused, from the notifier's API and the mail the SMTP server received; and cash-flow's
burn-rate rule (examples/acme) fires, which the report prints too. The services run on the
real clock here, not the demo's: the plants are shares of each KPI's pace, so the statuses
are the same."""

from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kpi_cli.simulation import Simulation
from kpi_cli.targets import GoalsTargets
from rich.console import Console

from demo import incidents, stack, traffic
from tests.conftest import Infra, _psql, _with_database
from tests.support.acme_stack import Tenant, running_stack, wait_until
from tests.support.strategy_events import ACME

pytestmark = pytest.mark.e2e
REGIONS = {"revenue-emea", "revenue-amer"}


@pytest.fixture
def database_url(infra: Infra, unique: str) -> Iterator[str]:
    name = f"kpi_demo_incident_{unique}"
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def demo_traffic(tenant: Tenant, now: datetime) -> list[dict[str, Any]]:
    """The demo's plants and seed, sized from this tenant's targets up to `now`."""
    doc = yaml.safe_load(ACME.read_text())
    auth = {"Authorization": f"Bearer {tenant.admin}"}
    with httpx.Client(base_url=tenant.urls["goals"], headers=auth, timeout=30) as http:
        sim = Simulation(doc, now, GoalsTargets(http), seed=traffic.SEED, plants=traffic.PLANTS)
        return sim.events()


def get(tenant: Tenant, path: str, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {tenant.admin}"}
    r = httpx.get(f"{tenant.urls['notifier']}{path}", params=params, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def settled(tenant: Tenant) -> list[dict[str, Any]] | None:
    """The incident once both regions are its causes and its notifications and the burn-rate
    alert's went out (Slack has no webhook here: dead)."""
    found = get(tenant, "/v1/incidents")
    if not found or {c["kpi_id"] for c in found[0]["causes"]} != REGIONS:
        return None
    key = f"incident:{found[0]['incident_id']}:"
    rows = [r for r in get(tenant, "/v1/notifications", limit=1000)
            if r["dedup_key"].startswith(key) or r["kind"] == "burn"]  # fmt: skip
    kinds = {r["kind"] for r in rows}
    done = {"incident", "burn"} <= kinds and all(r["status"] in ("sent", "dead") for r in rows)
    return found if done else None


def as_sink(mail: EmailMessage) -> dict[str, Any]:
    """An email as the demo's SMTP sink keeps it (demo/sinks.py)."""
    body = mail.get_body(("plain",))
    return {
        "to": [address for _, address in getaddresses([str(mail["To"])])],
        "subject": str(mail["Subject"]),
        "text": body.get_content() if body is not None else "",
    }


def test_the_demos_traffic_forms_one_incident_and_the_report_prints_it(
    infra: Infra, database_url: str, unique: str, tmp_path: Path
) -> None:
    env = {
        "KPI_DATABASE_URL": database_url,
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": f"{infra.topic_prefix}demoinc{unique}.",
        "KPI_LOG_LEVEL": "INFO",
        # as in the demo: a KPI that looks behind while the backlog is folded (the year's
        # events arrive oldest first) does not breach; only the planted shortfalls do
        "KPI_EVALUATOR_BREACH_FOR_S": str(stack.BREACH_FOR_S),
        "KPI_NOTIFIER_GROUP_WAIT_S": str(stack.GROUP_WAIT_S),
    }
    with running_stack(env, tmp_path) as (procs, smtp):
        tenant = Tenant(procs)
        tenant.apply()
        tenant.send(demo_traffic(tenant, datetime.now(UTC)))
        found = wait_until("the incident and the burn-rate alert", lambda: settled(tenant), 240)
        log = get(tenant, "/v1/notifications", limit=1000)
        mail = [as_sink(m) for m in smtp.messages]

    console = Console(record=True, width=250)
    incidents.show(console, found, log, mail, [])
    printed = console.export_text()

    assert len(found) == 1
    incident = found[0]
    assert [p["kpi_id"] for p in incident["parents"]] == ["revenue"]
    assert sum(c["share"] for c in incident["causes"]) == pytest.approx(1.0, abs=0.01)
    mine = [r for r in log if r["dedup_key"].startswith(f"incident:{incident['incident_id']}:")]
    # one first notification per recipient: lars, ana, sales-slack (sales route), morgan
    assert sorted(r["recipient"] for r in mine if r["kind"] == "incident") == [
        "ana", "lars", "morgan", "sales-slack"
    ]  # fmt: skip
    assert incident["incident_id"] in printed
    for line in ("Revenue EMEA (revenue-emea)", "Revenue Americas (revenue-amer)", "parent"):
        assert line in printed
    for cause in incident["causes"]:
        assert f"{cause['share']:.0%}" in printed
    subject = f"email: Incident {incident['incident_id']}"
    for person in ("lars", "ana", "morgan"):  # each the email the server received
        assert [line for line in printed.splitlines() if person in line and subject in line]
    # cash-flow, planted at 45 % of its pace, fires its burn-rate rule: priya is emailed
    burn = [line for line in printed.splitlines() if line.startswith("│ burn │ priya")]
    assert burn
    assert "email: Warning: Operating cash flow burning its" in burn[0]
