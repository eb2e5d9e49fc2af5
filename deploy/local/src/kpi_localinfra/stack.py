"""The project's local stack: PostgreSQL + Kafka, unless the environment names running ones."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kpi_localinfra import ports
from kpi_localinfra._proc import InfraError, port_open
from kpi_localinfra.kafka import KafkaServer, api_versions_ok
from kpi_localinfra.postgres import PostgresServer

DEFAULT_PG_PORT = ports.PG
DEFAULT_KAFKA_PORT = ports.KAFKA
DEFAULT_KAFKA_CONTROLLER_PORT = ports.KAFKA_CONTROLLER
DATABASE_URL_VAR = "KPI_DATABASE_URL"
KAFKA_BOOTSTRAP_VAR = "KPI_KAFKA_BOOTSTRAP"


def find_repo_root(start: Path | None = None) -> Path:
    """The nearest folder holding a Makefile above `start` (cwd), else above this package."""
    cwd = (start or Path.cwd()).absolute()
    for origin in (cwd, Path(__file__).resolve().parent):
        for folder in (origin, *origin.parents):
            if (folder / "Makefile").is_file():
                return folder
    return cwd


@dataclass(frozen=True)
class StackConfig:
    """Where the stack lives and which pieces are external (named by the environment)."""

    local_dir: Path
    pg_port: int = DEFAULT_PG_PORT
    kafka_port: int = DEFAULT_KAFKA_PORT
    kafka_controller_port: int = DEFAULT_KAFKA_CONTROLLER_PORT
    external_database_url: str | None = None
    external_kafka_bootstrap: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StackConfig:
        env = os.environ if environ is None else environ
        local_dir = env.get("KPI_LOCAL_DIR") or str(find_repo_root() / ".local")
        return cls(
            local_dir=Path(local_dir).absolute(),
            pg_port=_int(env, "KPI_PG_PORT", DEFAULT_PG_PORT),
            kafka_port=_int(env, "KPI_KAFKA_PORT", DEFAULT_KAFKA_PORT),
            kafka_controller_port=_int(
                env, "KPI_KAFKA_CONTROLLER_PORT", DEFAULT_KAFKA_CONTROLLER_PORT
            ),
            external_database_url=env.get(DATABASE_URL_VAR) or None,
            external_kafka_bootstrap=env.get(KAFKA_BOOTSTRAP_VAR) or None,
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InfraError(f"{name}={raw!r} is not a port number") from None


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    mode: str  # "local" or "external"
    running: bool
    address: str
    detail: str = ""

    def line(self) -> str:
        state = "running" if self.running else "stopped"
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.name:<9} {self.mode:<8} {state:<8} {self.address}{extra}"


def database_endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 5432


def kafka_endpoints(bootstrap: str) -> list[tuple[str, int]]:
    endpoints = []
    for item in filter(None, (part.strip() for part in bootstrap.split(","))):
        host, _, port = item.rpartition(":")
        if not port.isdigit():
            raise InfraError(f"{KAFKA_BOOTSTRAP_VAR}: {item!r} is not host:port")
        endpoints.append((host.strip("[]") or "127.0.0.1", int(port)))
    return endpoints


def _kafka_reachable(bootstrap: str) -> bool:
    return any(api_versions_ok(host, port) for host, port in kafka_endpoints(bootstrap))


class Stack:
    """Starts/stops the local pieces; external pieces are only checked for reachability."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig.from_env()
        cfg = self.config
        self.postgres: PostgresServer | None = None
        self.kafka: KafkaServer | None = None
        if cfg.external_database_url is None:
            self.postgres = PostgresServer(cfg.local_dir / "pg", cfg.pg_port)
        if cfg.external_kafka_bootstrap is None:
            self.kafka = KafkaServer(
                cfg.local_dir / "kafka", cfg.kafka_port, cfg.kafka_controller_port
            )

    @property
    def database_url(self) -> str:
        if self.postgres is not None:
            return self.postgres.url
        assert self.config.external_database_url is not None
        return self.config.external_database_url

    @property
    def kafka_bootstrap(self) -> str:
        if self.kafka is not None:
            return self.kafka.bootstrap
        assert self.config.external_kafka_bootstrap is not None
        return self.config.external_kafka_bootstrap

    def up(self) -> None:
        """Start what is local (idempotent), check what is external."""
        if self.postgres is not None:
            self.postgres.start()
        elif not port_open(*database_endpoint(self.database_url), timeout=3.0):
            raise InfraError(f"{DATABASE_URL_VAR} is set but {self.database_url} is unreachable")
        if self.kafka is not None:
            self.kafka.start()
        elif not _kafka_reachable(self.kafka_bootstrap):
            raise InfraError(
                f"{KAFKA_BOOTSTRAP_VAR} is set but no Kafka answers at {self.kafka_bootstrap}"
            )

    def down(self) -> list[str]:
        """Stop what is local (names of the pieces handled); external ones are left alone."""
        errors: list[str] = []
        handled: list[str] = []
        for name, server in (("kafka", self.kafka), ("postgres", self.postgres)):
            if server is None:
                continue
            handled.append(name)
            try:
                server.stop()
            except InfraError as exc:
                errors.append(str(exc))
        if errors:
            raise InfraError("\n".join(errors))
        return handled

    def status(self) -> list[ComponentStatus]:
        return [self._postgres_status(), self._kafka_status()]

    def env_lines(self) -> list[str]:
        """`export` lines for `eval` in a POSIX shell."""
        return [
            f"export {DATABASE_URL_VAR}={shlex.quote(self.database_url)}",
            f"export {KAFKA_BOOTSTRAP_VAR}={shlex.quote(self.kafka_bootstrap)}",
        ]

    def _postgres_status(self) -> ComponentStatus:
        if self.postgres is None:
            running = port_open(*database_endpoint(self.database_url), timeout=3.0)
            return ComponentStatus("postgres", "external", running, self.database_url)
        pid = self.postgres.pid()
        detail = f"pid {pid}, data {self.postgres.data_dir}" if pid else ""
        return ComponentStatus("postgres", "local", pid is not None, self.database_url, detail)

    def _kafka_status(self) -> ComponentStatus:
        if self.kafka is None:
            running = _kafka_reachable(self.kafka_bootstrap)
            return ComponentStatus("kafka", "external", running, self.kafka_bootstrap)
        pid = self.kafka.pid()
        detail = f"pid {pid}, data {self.kafka.data_dir}" if pid else ""
        return ComponentStatus("kafka", "local", pid is not None, self.kafka_bootstrap, detail)
