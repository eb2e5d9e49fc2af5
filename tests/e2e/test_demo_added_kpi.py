"""The demo's last act against the four services as processes: after a simulated quarter of
acme traffic was consumed, the demo's step applies the strategy again with one more KPI over
a metric that already streamed, waits for the recompute job through `GET /v1/recomputes`, and
reads the KPI's actual from the scorecard: it counts every event of the current quarter."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kpi_cli.client import CliSettings
from kpi_cli.feed_sources import FeedSources
from rich.console import Console

from demo import added_kpi
from demo.tenant import DemoTenant
from tests.conftest import Infra, _psql, _with_database
from tests.support.acme_stack import Tenant, running_stack, wait_until
from tests.support.strategy_events import ACME

pytestmark = pytest.mark.e2e


@pytest.fixture
def database_url(infra: Infra, unique: str) -> Iterator[str]:
    name = f"kpi_demo_added_{unique}"
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def quarter_start(now: datetime) -> datetime:
    """acme's fiscal year starts on 01-01, so its quarters are the calendar's."""
    return datetime(now.year, 3 * ((now.month - 1) // 3) + 1, 1, tzinfo=UTC)


def matching(events: list[dict[str, Any]], since: datetime) -> list[dict[str, Any]]:
    measure = added_kpi.ADDED_KPI["measure"]
    return [
        e
        for e in events
        if e["metric"] == measure["metric"]
        and all(e["dimensions"].get(k) == v for k, v in measure["where"].items())
        and e["time"] >= since.strftime("%Y-%m-%dT%H:%M:%SZ")
    ]


def scorecard_actual(tenant: Tenant, kpi_id: str) -> Any:
    r = httpx.get(
        f"{tenant.urls['evaluator']}/v1/scorecard",
        headers={"Authorization": f"Bearer {tenant.admin}"},
        timeout=30,
    )
    return next((k["actual"] for k in r.json().get("kpis", []) if k["id"] == kpi_id), None)


def demo_tenant(tenant: Tenant) -> DemoTenant:
    urls = CliSettings(
        goals_url=tenant.urls["goals"],
        ingest_url=tenant.urls["metrics-ingest"],
        evaluator_url=tenant.urls["evaluator"],
        notifier_url=tenant.urls["notifier"],
    )
    feeds = FeedSources("acme", "unused", "unused", "")
    return DemoTenant(tenant.id, tenant.admin, tenant.ingest, urls, feeds)


def test_a_kpi_added_after_the_replay_counts_the_whole_quarter(
    infra: Infra, database_url: str, unique: str, tmp_path: Path
) -> None:
    env = {
        "KPI_DATABASE_URL": database_url,
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": f"{infra.topic_prefix}demoadd{unique}.",
        "KPI_LOG_LEVEL": "INFO",
    }
    with running_stack(env, tmp_path) as (procs, _smtp):
        tenant = Tenant(procs)
        tenant.apply()
        now = datetime.now(UTC)
        events = tenant.simulated_events(now)
        tenant.send(events)
        emea = matching(events, datetime(now.year, 1, 1, tzinfo=UTC))
        # revenue-emea sums the same events over the year: once it has them all, every event
        # the added KPI needs was consumed (and archived) before the KPI existed
        wait_until(
            "revenue-emea to sum every EMEA invoice",
            lambda: (
                scorecard_actual(tenant, "revenue-emea")
                == pytest.approx(sum(e["value"] for e in emea))
            ),
            timeout_s=180,
        )
        expected = len(matching(events, quarter_start(now)))
        assert expected > 0

        console = Console(record=True, width=200)
        outcome = added_kpi.show(console, demo_tenant(tenant), ACME)

        assert outcome.kpi["actual"] == expected
        assert outcome.kpi["id"] == added_kpi.ADDED_ID
        assert outcome.job["state"] == "done"
        assert "new_kpi" in outcome.job["reason"]
        assert outcome.job["events_done"] == outcome.job["events_total"] >= len(emea)
        printed = console.export_text()
        assert f"actual {expected}" in printed
        assert f"{outcome.job['events_done']} of {outcome.job['events_total']}" in printed
    # the example document itself is unchanged
    assert added_kpi.ADDED_ID not in {k["id"] for k in yaml.safe_load(ACME.read_text())["kpis"]}
