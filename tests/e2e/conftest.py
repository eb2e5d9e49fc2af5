import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from kpi_common.apikeys import new_api_key
from kpi_common.events import Envelope
from kpi_common.kafka import Outgoing, create_producer, publish
from kpi_common.topics import GOALS_CHANGES, KPI_BREACHES

from tests.conftest import Infra, _psql, _with_database
from tests.integration.kpi_notifier.process import breach_event, key_event, wait_known
from tests.integration.kpi_notifier.servers import SmtpServer
from tests.support.procs import service
from tests.support.strategy_events import events

pytestmark = pytest.mark.e2e


@pytest.fixture
def service_env(infra: Infra) -> dict[str, str]:
    """Environment for a service process on this session's database and topic prefix."""
    return {
        "KPI_DATABASE_URL": infra.database_url,
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": infra.topic_prefix,
        "KPI_LOG_LEVEL": "INFO",
    }


def kpi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The `kpi` command line, run as a user runs it, with `env` over this environment."""
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


@dataclass(frozen=True)
class NotifiedBreach:
    """A notifier process that knows a strategy and a key, and has sent the notice of one
    breach of new-clients (sales, owner dana); `cli` is the `kpi` environment to reach it."""

    url: str
    key: str
    breach: Envelope
    smtp: SmtpServer
    cli: dict[str, str]


@pytest.fixture
def notifier_database_url(infra: Infra, unique: str) -> Iterator[str]:
    name = f"kpi_ntf_cli_{unique}"
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


NotifierWithBreach = Callable[[dict[str, Any]], AbstractAsyncContextManager[NotifiedBreach]]


@pytest.fixture
def notifier_with_breach(
    infra: Infra, notifier_database_url: str, unique: str, tmp_path: Path
) -> NotifierWithBreach:
    """Start the notifier on the strategy document given, once it has sent the breach's
    first notice; stopped (and its SMTP server) when the block ends."""

    @asynccontextmanager
    async def started(doc: dict[str, Any]) -> AsyncIterator[NotifiedBreach]:
        prefix = f"{infra.topic_prefix}{unique}."
        smtp = SmtpServer()
        smtp.start()
        env = {
            "KPI_DATABASE_URL": notifier_database_url,
            "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
            "KPI_TOPIC_PREFIX": prefix,
            "KPI_SMTP_PORT": str(smtp.port),
            "KPI_NOTIFIER_SENDER_POLL_S": "0.1",
            "KPI_NOTIFIER_MAX_ATTEMPTS": "1",
        }
        svc = service("notifier", env, tmp_path / "notifier.log")
        tenant, key = str(uuid.uuid4()), new_api_key()
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
            yield NotifiedBreach(svc.url, key, breach, smtp, cli)
        finally:
            svc.stop()
            await producer.stop()
            smtp.stop()

    return started
