"""The notifier as a real process, killed with SIGKILL: a breach consumed before the kill
but not yet delivered (the SMTP server is down) is delivered exactly once after restart,
and a delivered notification is never sent again by a restarted notifier."""

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kpi_common.apikeys import new_api_key
from kpi_common.events import Envelope
from kpi_common.kafka import Outgoing, create_producer, publish
from kpi_common.topics import GOALS_CHANGES, KPI_BREACHES

from tests.conftest import Infra, _psql, _with_database
from tests.integration.kpi_notifier.process import (
    breach_event,
    key_event,
    wait_known,
)
from tests.integration.kpi_notifier.servers import SmtpServer, free_port
from tests.support.procs import ServiceProcess, service
from tests.support.strategy_events import events, load

pytestmark = pytest.mark.e2e


@pytest.fixture
def database_url(infra: Infra, unique: str) -> Iterator[str]:
    name = f"kpi_ntf_e2e_{unique}"
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def poll(svc: ServiceProcess, key: str, check: Any, timeout_s: float = 120) -> Any:
    """GET the delivery log until `check` accepts it (bounded)."""
    async with asyncio.timeout(timeout_s), httpx.AsyncClient(base_url=svc.url) as http:
        while True:
            r = await http.get("/v1/notifications", headers={"Authorization": f"Bearer {key}"})
            if r.status_code == 200 and check(r.json()):
                return r.json()
            await asyncio.sleep(0.1)


async def test_a_killed_notifier_delivers_exactly_once_after_restart(
    infra: Infra, database_url: str, unique: str, tmp_path: Path
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    smtp = SmtpServer(free_port())  # not listening yet: delivery fails and is retried
    env = {
        "KPI_DATABASE_URL": database_url,
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": prefix,
        "KPI_SMTP_PORT": str(smtp.port),
        "KPI_NOTIFIER_RETRY_BASE_S": "0.2",
        "KPI_NOTIFIER_RETRY_MAX_S": "0.5",
        "KPI_NOTIFIER_MAX_ATTEMPTS": "1000",
        "KPI_NOTIFIER_SENDER_POLL_S": "0.1",
        "KPI_NOTIFIER_REMINDER_INTERVAL": "52w",
        "KPI_NOTIFIER_SEND_LEASE_S": "2",
    }
    doc = load()
    doc["reviews"] = []  # only the breaches' notifications in this test
    svc = service("notifier", env, tmp_path / "notifier.log")
    tenant, key = str(uuid.uuid4()), new_api_key()
    producer = create_producer(infra.kafka_bootstrap)
    await producer.start()

    async def send(topic: str, envs: list[Envelope]) -> None:
        await publish(producer, [Outgoing(prefix + topic, f"{tenant}:{e.id}", e) for e in envs])

    try:
        svc.start()
        await asyncio.to_thread(svc.wait_ready, 120)
        goals = [*events(tenant, doc), key_event(tenant, key)]
        await publish(producer, [Outgoing(prefix + GOALS_CHANGES.name, tenant, e) for e in goals])
        await wait_known(svc.url, key)
        first = breach_event(tenant, "csat", "service", "sam")
        await send(KPI_BREACHES.name, [first])
        failing = await poll(svc, key, lambda rows: rows and rows[0]["last_error"])
        assert failing[0]["status"] in ("pending", "sending")
        svc.kill()  # between the breach and its delivery

        smtp.start()
        svc.start()
        await asyncio.to_thread(svc.wait_ready, 120)
        await poll(svc, key, lambda rows: [r["status"] for r in rows] == ["sent"])
        svc.kill()  # after the delivery

        svc.start()
        await asyncio.to_thread(svc.wait_ready, 120)
        marker = breach_event(tenant, "engagement", "people", "jo")
        await send(KPI_BREACHES.name, [marker])
        rows = await poll(svc, key, lambda rows: len(rows) == 2 and rows[0]["status"] == "sent")
    finally:
        svc.stop()
        await producer.stop()
        smtp.stop()

    assert sorted(str(m["To"]) for m in smtp.messages) == ["jo@acme.example", "sam@acme.example"]
    by_breach = {r["breach_id"]: r for r in rows}
    # The kill may land while a retry held the row (`sending`): then it is taken again after
    # the lease and counted, though SMTP was down so nothing had reached anyone.
    assert by_breach[first.data["breach_id"]]["redelivered"] in (0, 1)
    assert by_breach[first.data["breach_id"]]["attempts"] >= 2
