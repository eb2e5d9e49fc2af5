"""What the fault suite runs, all of its own: PostgreSQL and Kafka in a temporary folder on
free ports, an SMTP sink, and the four services as processes it can SIGKILL and start again.
Nothing here touches the shared servers (15432, 19092) or the default service ports.

Its `Shape` says how many: one broker and one process per service (`SINGLE`), or three
brokers and two replicas of each service, with a third evaluator to scale out to
(`CLUSTER`). A replica's name is its service's, then `-2`, `-3` for the second and third."""

import asyncio
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiosmtpd.controller import Controller
from kpi_localinfra import KafkaCluster, PostgresServer
from kpi_localinfra.processes import SERVICES, ServiceProcess, free_ports

from demo.sinks import MailSink

NAMES = tuple(s.name for s in SERVICES)  # goals, metrics-ingest, evaluator, notifier
PYCACHE = Path.home() / ".cache" / "kpi-cascade" / "pycache"


@dataclass(frozen=True)
class Shape:
    brokers: int
    replicas: dict[str, int]  # processes of each service started with the stack
    most: dict[str, int]  # how far a service can be scaled out (default: `replicas`)
    partitions: int

    def count(self, name: str) -> int:
        return max(self.replicas[name], self.most.get(name, 0))


SINGLE = Shape(1, dict.fromkeys(NAMES, 1), {}, partitions=3)
CLUSTER = Shape(3, dict.fromkeys(NAMES, 2), {"evaluator": 3}, partitions=6)


def replica(name: str, i: int) -> str:
    """The name of replica `i` (from 1) of service `name`."""
    return name if i == 1 else f"{name}-{i}"


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
        """Every message, in the order received, with `received_at` (epoch seconds, from the
        sink's file name)."""
        return [
            {**json.loads(p.read_text()), "received_at": int(p.stem.split("-")[0]) / 1e9}
            for p in sorted(self.folder.glob("*.json"))
        ]


@dataclass
class Stack:
    workdir: Path
    shape: Shape = SINGLE
    operator_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    services: dict[str, ServiceProcess] = field(default_factory=dict)  # by replica name
    active: set[str] = field(default_factory=set)  # the replicas meant to be running

    def __post_init__(self) -> None:
        names = [(spec, i) for spec in SERVICES for i in range(1, self.shape.count(spec.name) + 1)]
        pg, smtp, *ports = free_ports(2 + 2 * self.shape.brokers + len(names))
        self.postgres = PostgresServer(self.workdir / "postgres", pg)
        pairs = list(zip(ports[0 : 2 * self.shape.brokers : 2], ports[1::2], strict=False))
        self.kafka = KafkaCluster(self.workdir / "kafka", pairs)
        self.smtp = SmtpSink(self.workdir / "mail", smtp)
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        for (spec, i), port in zip(names, ports[2 * self.shape.brokers :], strict=True):
            name = replica(spec.name, i)
            log = self.workdir / "logs" / f"{name}.log"
            self.services[name] = ServiceProcess(spec, self._env(spec.name), log, port)
            if i <= self.shape.replicas[spec.name]:
                self.active.add(name)

    def url(self, name: str) -> str:
        return self.services[name].url

    def urls(self, name: str) -> list[str]:
        """The URL of every replica of service `name` that is meant to be running."""
        return [s.url for r, s in self.services.items() if s.name == name and r in self.active]

    async def start(self) -> None:
        await asyncio.gather(asyncio.to_thread(self.postgres.start), self._start_kafka())
        await self._durable_commits()
        self.smtp.start()
        for name in sorted(self.active):
            self.services[name].start()
        await self.all_ready()

    async def _start_kafka(self) -> None:
        await asyncio.to_thread(self.kafka.start)

    async def all_ready(self, timeout_s: float = 120.0) -> None:
        """Every running replica's `/readyz` answers 200 (bounded); fails at once if one
        exited."""
        ready = [asyncio.to_thread(self.services[r].wait_ready, timeout_s) for r in self.active]
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
            "KPI_TOPIC_PARTITIONS": str(self.shape.partitions),
            "KPI_TOPIC_REPLICATION_FACTOR": str(self.shape.brokers),
            "KPI_LOG_LEVEL": "INFO",
        }
        return {**inherited, **common, **self._own_env(name)}

    def _own_env(self, name: str) -> dict[str, str]:
        own = {
            "goals": {"KPI_OPERATOR_TOKEN": self.operator_token},
            # the breach rounds walk closed days two years back (load.BREACH_START), and each
            # must page: the oracle counts one notification per transition and channel, so
            # the paging horizon (docs/evaluator.md, "Restatements") reaches all of them, and
            # each must count: the archive's retention keeps them (its default, 36 months
            # back from the real now, leaves the oldest days out as expired), and ingest
            # accepts them (it refuses what the archive would not keep: one setting)
            "metrics-ingest": {
                "KPI_INGEST_KAFKA_RETRY_AFTER_S": "1",
                "KPI_ARCHIVE_RETENTION_MONTHS": "1200",
            },
            "evaluator": {
                "KPI_EVALUATOR_BREACH_HORIZON_PERIODS": "100000",
                "KPI_ARCHIVE_RETENTION_MONTHS": "1200",
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
