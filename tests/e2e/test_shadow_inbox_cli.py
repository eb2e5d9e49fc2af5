"""`kpi shadow` and `kpi inbox` against the notifier as a real process: a shadow route on
the same breach as the live one sends nothing and is listed; the owner's inbox lists the
breach until it is acknowledged."""

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kpi_common.apikeys import new_api_key
from kpi_common.kafka import Outgoing, create_producer, publish
from kpi_common.topics import GOALS_CHANGES, KPI_BREACHES

from tests.conftest import Infra, _psql, _with_database
from tests.e2e.test_notifier_cli import kpi, wait_sent
from tests.integration.kpi_notifier.process import breach_event, key_event, wait_known
from tests.integration.kpi_notifier.servers import SmtpServer
from tests.support.procs import service
from tests.support.strategy_events import events, load

pytestmark = pytest.mark.e2e


@pytest.fixture
def database_url(infra: Infra, unique: str) -> Iterator[str]:
    name = f"kpi_ntf_shadow_{unique}"
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_kpi_shadow_and_kpi_inbox(
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
    doc["alerts"]["routes"] = [
        {"match": {"unit": "sales"}, "notify": ["morgan"], "mode": "shadow"},
        {"notify": ["owner"]},
    ]
    breach = breach_event(tenant, "new-clients", "sales", "dana")
    breach_id = breach.data["breach_id"]
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
        shadow = await asyncio.to_thread(kpi, cli, "shadow")
        shadow_json = await asyncio.to_thread(kpi, cli, "shadow", "--route", "0", "--json")
        inbox = await asyncio.to_thread(kpi, cli, "inbox", "--person", "dana")
        await asyncio.to_thread(kpi, cli, "ack", breach_id)
        after_ack = await asyncio.to_thread(kpi, cli, "inbox", "--person", "dana", "--json")
        stranger = await asyncio.to_thread(kpi, cli, "inbox", "--person", "zoe")
    finally:
        svc.stop()
        await producer.stop()
        smtp.stop()

    assert [str(m["To"]) for m in smtp.messages] == ["dana@acme.example"]  # never morgan
    assert shadow.returncode == 0, shadow.stderr
    assert "morgan" in shadow.stdout
    assert "route" in shadow.stdout
    (entry,) = json.loads(shadow_json.stdout)
    assert entry["recipient"] == "morgan"
    assert entry["dedup_key"] == f"shadow:route0:{breach_id}:opened:email:morgan"
    assert entry["subject"].startswith("Critical: New client acquisitions")
    assert inbox.returncode == 0, inbox.stderr
    assert "Dana Ortiz (dana)" in inbox.stdout
    assert breach_id in inbox.stdout
    assert json.loads(after_ack.stdout)["breaches"] == []
    assert stranger.returncode == 1
    assert "person zoe not found" in stranger.stderr
