"""The infrastructure one service process holds: engine, sessions, producer, background
loops and readiness. Built once in the service's composition root and passed in."""

from pathlib import Path

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kpi_common.db import create_engine, database_reachable, run_migrations, session_factory
from kpi_common.http import Readiness
from kpi_common.logging import configure_logging, get_logger
from kpi_common.runtime import ProducerHandle, RelayHolder, Supervisor
from kpi_common.settings import ServiceSettings

log = get_logger(__name__)


class ServiceRuntime:
    def __init__(
        self,
        *,
        name: str,
        settings: ServiceSettings,
        schema: str,
        migrations: Path,
        pool_size: int = 10,
    ) -> None:
        self.name = name
        self.settings = settings
        self.schema = schema
        self._migrations = migrations
        self.engine: AsyncEngine = create_engine(settings.database_url, pool_size=pool_size)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)
        self.kafka = ProducerHandle(settings)
        self.supervisor = Supervisor()
        self.readiness = Readiness()
        self.readiness.add("postgres", self.database_ok)
        self.readiness.add("kafka", self.kafka.reachable)

    def outbox_relay(self, table: Table) -> RelayHolder:
        """The relay of this service's outbox `table`; spawn its `run` on the supervisor."""
        return RelayHolder(self.kafka, engine=self.engine, table=table, service=self.name)

    def topic(self, name: str) -> str:
        return f"{self.settings.topic_prefix}{name}"

    async def database_ok(self) -> bool:
        return await database_reachable(self.engine)

    async def start(self) -> None:
        """Migrate the service's schema (Postgres must be up), then reach for Kafka."""
        configure_logging(self.name, self.settings.log_level, self.settings.log_format)
        await run_migrations(self.engine, self.schema, self._migrations)
        self.kafka.start()
        log.info("service started", schema=self.schema)

    async def stop(self) -> None:
        await self.supervisor.stop()
        await self.kafka.stop()
        await self.engine.dispose()
