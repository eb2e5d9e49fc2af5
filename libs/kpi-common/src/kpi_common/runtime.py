"""Process plumbing: a Kafka producer that comes up whenever Kafka does, the outbox relay
that starts with it, supervised background loops, and the uvicorn entry point."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from kpi_common.errors import Unavailable
from kpi_common.kafka import create_producer, ensure_topics, kafka_reachable
from kpi_common.logging import get_logger
from kpi_common.outbox import OutboxRelay
from kpi_common.settings import ServiceSettings

log = get_logger(__name__)


class ProducerHandle:
    """Owns the process's one producer. Starting never blocks on Kafka: while the broker is
    away the service runs and answers 503 where it needs Kafka; it connects when it can."""

    def __init__(self, settings: ServiceSettings, *, linger_ms: int = 5) -> None:
        self._settings = settings
        self._linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name="kafka-connect")

    async def _connect(self) -> None:
        delay = 0.5
        while True:
            producer = create_producer(self._settings.kafka_bootstrap, linger_ms=self._linger_ms)
            try:
                await producer.start()
                await ensure_topics(
                    self._settings.kafka_bootstrap,
                    self._settings.topic_prefix,
                    self._settings.topic_partitions,
                    replication_factor=self._settings.topic_replication_factor,
                )
            except Exception as exc:
                log.warning("kafka not reachable yet", error=str(exc)[:200], retry_in=delay)
                await producer.stop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._producer = producer
            self.connected.set()
            log.info("kafka producer connected", bootstrap=self._settings.kafka_bootstrap)
            return

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise Unavailable("Kafka is not reachable yet; retry shortly")
        return self._producer

    async def reachable(self) -> bool:
        return self._producer is not None and await kafka_reachable(self._producer)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._producer is not None:
            await self._producer.stop()


class RelayHolder:
    """Holds the service's outbox relay, built once Kafka is reachable. `notify` before then
    is a no-op (the relay's first pass sends whatever is waiting); `run` is the background
    loop to hand to the supervisor."""

    def __init__(
        self, kafka: ProducerHandle, *, engine: AsyncEngine, table: Table, service: str
    ) -> None:
        self._kafka = kafka
        self._engine = engine
        self._table = table
        self._service = service
        self._relay: OutboxRelay | None = None

    def notify(self) -> None:
        """Ask for a relay pass now (after a commit that wrote outbox rows)."""
        if self._relay is not None:
            self._relay.notify()

    async def run(self) -> None:
        await self._kafka.connected.wait()
        self._relay = OutboxRelay(
            engine=self._engine,
            table=self._table,
            producer=self._kafka.producer,
            service=self._service,
        )
        await self._relay.run()

    async def backlog(self) -> int:
        """Rows waiting to be relayed; -1 while the relay has not started."""
        return await self._relay.backlog() if self._relay is not None else -1


class Supervisor:
    """Background loops that restart with backoff when they crash, cancelled at shutdown."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def spawn(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        self._tasks.append(asyncio.create_task(self._keep(name, loop), name=name))

    async def _keep(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        delay = 0.5
        while True:
            try:
                await loop()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background loop crashed, restarting", loop=name, retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Cancel every loop and wait until each ended. A loop still running `grace_s` after
        its cancellation lost it (e.g. to Python 3.11's `asyncio.wait_for`, which returns
        a result that arrived in the same instant instead of raising): cancel it again."""
        pending = set(self._tasks)
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=grace_s)
            for task in pending:
                log.warning("background loop ignored its cancellation", loop=task.get_name())
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run one service under uvicorn (the process's entry point calls this)."""
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
