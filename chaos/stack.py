"""What the fault suite runs, all of its own: PostgreSQL and Kafka in a temporary folder on
free ports, an SMTP sink, and the four services as processes it can SIGKILL and start again.
Nothing here touches the shared servers (15432, 19092) or the default service ports."""

import asyncio
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiosmtpd.controller import Controller
from kpi_localinfra import KafkaServer, PostgresServer
from kpi_localinfra.processes import SERVICES, ServiceProcess, free_ports

from demo.sinks import MailSink

NAMES = tuple(s.name for s in SERVICES)  # goals, metrics-ingest, evaluator, notifier
PARTITIONS = 3
PYCACHE = Path.home() / ".cache" / "kpi-cascade" / "pycache"


@dataclass
class SmtpSink:
    """aiosmtpd in a thread, one JSON file per message (demo/sinks.py's MailSink)."""

    folder: Path
    port: int
    _controller: Controller | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(MailSink(self.folder), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(self.folder.glob("*.json"))]


@dataclass
class Stack:
    workdir: Path
    operator_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pg, kafka, controller, smtp, *service_ports = free_ports(4 + len(NAMES))
        self.postgres = PostgresServer(self.workdir / "postgres", pg)
        self.kafka = KafkaServer(self.workdir / "kafka", kafka, controller)
        self.smtp = SmtpSink(self.workdir / "mail", smtp)
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        for spec, port in zip(SERVICES, service_ports, strict=True):
            log = self.workdir / "logs" / f"{spec.name}.log"
            self.services[spec.name] = ServiceProcess(spec, self._env(spec.name), log, port)

    def url(self, name: str) -> str:
        return self.services[name].url

    async def start(self) -> None:
        await asyncio.gather(asyncio.to_thread(self.postgres.start), self._start_kafka())
        await self._durable_commits()
        self.smtp.start()
        for svc in self.services.values():
            svc.start()
        await self.all_ready()

    async def _start_kafka(self) -> None:
        await asyncio.to_thread(self.kafka.start)

    async def all_ready(self, timeout_s: float = 120.0) -> None:
        """Every service's `/readyz` answers 200 (bounded); fails at once if one exited."""
        ready = [asyncio.to_thread(s.wait_ready, timeout_s) for s in self.services.values()]
        await asyncio.gather(*ready)

    async def _durable_commits(self) -> None:
        """The local server trades durability for speed (synchronous_commit=off), which would
        let a SIGKILLed PostgreSQL forget commits it had acknowledged: turn it back on (the
        auto.conf is read after kpi_local.conf), so a crash loses nothing a service was told."""
        conn = await asyncpg.connect(self.postgres.dsn)
        try:
            await conn.execute("ALTER SYSTEM SET synchronous_commit = on")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    def stop(self) -> None:
        """Stop everything this stack started (services first); safe to call twice."""
        for svc in self.services.values():
            svc.stop()
        self.smtp.stop()
        self.kafka.stop()
        self.postgres.stop()

    def _env(self, name: str) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")}
        inherited.pop("PYTHONDONTWRITEBYTECODE", None)
        common = {
            # restarts read compiled bytecode, as a built image would (compiling the whole
            # import tree costs ~7 s a start on a busy 2-core machine), kept outside the tree
            "PYTHONPYCACHEPREFIX": str(PYCACHE),
            "KPI_DATABASE_URL": self.postgres.url,
            "KPI_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "KPI_TOPIC_PARTITIONS": str(PARTITIONS),
            "KPI_LOG_LEVEL": "INFO",
        }
        return {**inherited, **common, **self._own_env(name)}

    def _own_env(self, name: str) -> dict[str, str]:
        own = {
            "goals": {"KPI_OPERATOR_TOKEN": self.operator_token},
            "metrics-ingest": {"KPI_INGEST_KAFKA_RETRY_AFTER_S": "1"},
            # the breach rounds walk closed days two years back (load.BREACH_START), and each
            # must page: the oracle counts one notification per transition and channel, so
            # the paging horizon (docs/evaluator.md, "Restatements") reaches all of them, and
            # each must count: the archive's retention keeps them (its default, 36 months
            # back from the real now, leaves the oldest days out as expired)
            "evaluator": {
                "KPI_EVALUATOR_BREACH_HORIZON_PERIODS": "100000",
                "KPI_EVALUATOR_ARCHIVE_RETENTION_MONTHS": "1200",
            },
            "notifier": {
                "KPI_SMTP_HOST": "127.0.0.1",
                "KPI_SMTP_PORT": str(self.smtp.port),
                "KPI_NOTIFIER_SEND_LEASE_S": "5",
                "KPI_NOTIFIER_RETRY_BASE_S": "0.5",
                "KPI_NOTIFIER_RETRY_MAX_S": "2",
                "KPI_NOTIFIER_MAX_ATTEMPTS": "1000",
                "KPI_NOTIFIER_SENDER_POLL_S": "0.2",
            },
        }
        return own.get(name, {})
