"""The scale run's own stack: a scratch database and topic prefix on the bench's PostgreSQL and
Kafka, and the four services on free ports wired to them. Everything the run creates (1,000
tenants, 1,000,000 archived events) lives there and is dropped at the end, so nothing
accumulates across runs and the tick covers exactly the run's KPIs."""

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from kpi_common.topic_admin import drop_topics
from kpi_localinfra.processes import SERVICES, ServiceProcess, free_ports

from bench.memory import pid_cpu_seconds, proc_status_kib

TICK_S = 5.0  # ticks run back to back whenever one takes longer


@dataclass
class ScaleStack:
    """Where the run's services are, and how to reach its database."""

    run: str
    database_url: str  # SQLAlchemy form, of the scratch database
    prefix: str
    operator_token: str
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return self.services[name].url

    def pid(self, name: str) -> int:
        proc = self.services[name].proc
        assert proc is not None
        return proc.pid

    def cpu_seconds(self, name: str) -> float:
        return pid_cpu_seconds(self.pid(name))

    def rss_mib(self, name: str) -> float:
        return proc_status_kib(self.pid(name), "VmRSS") / 1024

    def dsn(self) -> str:
        """The scratch database for asyncpg."""
        return plain(self.database_url)


@asynccontextmanager
async def running(logs: Path = Path(".local/run")) -> AsyncIterator[ScaleStack]:
    base = os.environ["KPI_DATABASE_URL"]
    bootstrap = os.environ.get("KPI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    run = uuid.uuid4().hex[:8]
    database = f"kpi_bench_scale_{run}"
    prefix = f"{os.environ.get('KPI_TOPIC_PREFIX', '')}bench-scale-{run}."
    stack = ScaleStack(run, with_database(base, database), prefix, secrets.token_urlsafe(24))
    admin = await asyncpg.connect(plain(base))
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
        await asyncio.to_thread(_start, stack, bootstrap, logs)
        yield stack
    finally:
        for svc in stack.services.values():
            svc.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
        await drop_topics(bootstrap, prefix)


def _start(stack: ScaleStack, bootstrap: str, logs: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")}
    env |= {
        "KPI_DATABASE_URL": stack.database_url,
        "KPI_KAFKA_BOOTSTRAP": bootstrap,
        "KPI_TOPIC_PREFIX": stack.prefix,
        "KPI_OPERATOR_TOKEN": stack.operator_token,
        "KPI_EVALUATOR_TICK_S": str(TICK_S),
        "KPI_LOG_LEVEL": "WARNING",
        "KPI_SMTP_HOST": "127.0.0.1",  # nothing breaches: KPIs without data are no_data
    }
    logs.mkdir(parents=True, exist_ok=True)
    ports = free_ports(len(SERVICES))
    for spec, port in zip(SERVICES, ports, strict=True):
        log = logs / f"bench-scale-{spec.name}.log"
        stack.services[spec.name] = ServiceProcess(spec, dict(env), log, port)
    # goals first: it creates the topics the others consume
    stack.services["goals"].start()
    stack.services["goals"].wait_ready(120)
    for name, svc in stack.services.items():
        if name != "goals":
            svc.start()
    for svc in stack.services.values():
        svc.wait_ready(120)


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name
