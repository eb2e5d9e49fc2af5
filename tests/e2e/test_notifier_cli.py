"""The `kpi` notifier commands against the notifier as a real process: the delivery log,
ack, silences, a test notification and an unknown breach."""

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kpi_common.apikeys import new_api_key
from kpi_common.kafka import Outgoing, create_producer, publish
from kpi_common.topics import GOALS_CHANGES, KPI_BREACHES

from tests.conftest import Infra, _psql, _with_database
from tests.integration.kpi_notifier.process import (
    breach_event,
    key_event,
    wait_known,
)
from tests.integration.kpi_notifier.servers import SmtpServer
from tests.support.procs import service
from tests.support.strategy_events import events, load

pytestmark = pytest.mark.e2e


@pytest.fixture
def database_url(infra: Infra, unique: str) -> Iterator[str]:
    name = f"kpi_ntf_cli_{unique}"
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def kpi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kpi_cli.main", *args],
        env={**os.environ, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def wait_sent(url: str, key: str, n: int) -> None:
    async with asyncio.timeout(120), httpx.AsyncClient(base_url=url) as http:
        while True:
            r = await http.get(
                "/v1/notifications",
                params={"status": "sent"},
                headers={"Authorization": f"Bearer {key}"},
            )
            if r.status_code == 200 and len(r.json()) >= n:
                return
            await asyncio.sleep(0.1)


async def test_kpi_notifications_ack_silence_and_test_notification(
    infra: Infra, database_url: str, unique: str, tmp_path: Path
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    smtp = SmtpServer()
    smtp.start()
    env = {
        "KPI_DATABASE_URL": database_url,
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": prefix,
        "KPI_SMTP_PORT": str(smtp.port),
        "KPI_NOTIFIER_SENDER_POLL_S": "0.1",
        "KPI_NOTIFIER_MAX_ATTEMPTS": "1",
    }
    svc = service("notifier", env, tmp_path / "notifier.log")
    tenant, key = str(uuid.uuid4()), new_api_key()
    doc = load()
    doc["reviews"] = []
    breach = breach_event(tenant, "new-clients", "sales", "dana")
    producer = create_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        svc.start()
        await asyncio.to_thread(svc.wait_ready, 120)
        goals = [*events(tenant, doc), key_event(tenant, key)]
        await publish(producer, [Outgoing(prefix + GOALS_CHANGES.name, "k", e) for e in goals])
        await wait_known(svc.url, key)
        await publish(producer, [Outgoing(prefix + KPI_BREACHES.name, "k", breach)])
        await wait_sent(svc.url, key, 1)
        cli = {"KPI_NOTIFIER_URL": svc.url, "KPI_API_KEY": key}
        log = await asyncio.to_thread(kpi, cli, "notifications")
        ack = await asyncio.to_thread(kpi, cli, "ack", breach.data["breach_id"])
        unknown = await asyncio.to_thread(kpi, cli, "ack", "brc-nope")
        add = await asyncio.to_thread(kpi, cli, "silence", "add", "--unit", "sales", "--for", "2h")
        listed = await asyncio.to_thread(kpi, cli, "silence", "list")
        silence_id = add.stdout.split()[1]
        removed = await asyncio.to_thread(kpi, cli, "silence", "rm", silence_id)
        test = await asyncio.to_thread(kpi, cli, "test-notification", "kim", "--note", "hello")
        await wait_sent(svc.url, key, 2)
    finally:
        svc.stop()
        await producer.stop()
        smtp.stop()

    assert log.returncode == 0, log.stderr
    assert "dana" in log.stdout
    assert "sent" in log.stdout
    assert "dead" in log.stdout  # sales-slack: its webhook variable is not set
    assert "ACME_SALES_SLACK_WEBHOOK" in log.stdout
    assert ack.stdout.startswith(f"acknowledged {breach.data['breach_id']}")
    assert unknown.returncode == 1
    assert "not found" in unknown.stderr
    assert silence_id.startswith("sil-")
    assert "unit=sales" in listed.stdout
    assert removed.stdout.strip() == f"silence {silence_id} removed"
    assert test.returncode == 0, test.stderr
    assert [str(m["To"]) for m in smtp.messages] == ["dana@acme.example", "kim@acme.example"]
    assert "hello" in smtp.to("kim@acme.example")[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
