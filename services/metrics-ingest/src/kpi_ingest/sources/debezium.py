"""Debezium CDC sources: one consumer per source on its raw change topic, in a consumer group
of this service (so replicas share the partitions). Each polled batch goes through the source
pipeline (map op/after rows, claim and produce, dead-letter the rest); offsets are committed
to Kafka only after that, and a failed batch is retried as a whole: the dedup claims make
the retry produce nothing twice."""

import asyncio
import contextlib

from aiokafka import AIOKafkaConsumer
from kpi_common.db import unit_of_work
from kpi_common.logging import get_logger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_ingest.config import SERVICE
from kpi_ingest.sources import repository
from kpi_ingest.sources.pipeline import Source, SourcePipeline

log = get_logger(__name__)


class DebeziumRunner:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        pipeline: SourcePipeline,
        bootstrap: str,
        group_prefix: str,
        refresh_s: float,
    ) -> None:
        self._sessions = sessions
        self._pipeline = pipeline
        self._bootstrap = bootstrap
        self._group_prefix = group_prefix
        self._refresh_s = refresh_s
        self._running: dict[str, tuple[str, asyncio.Task[None]]] = {}

    async def run(self) -> None:
        """Keep one consumer per configured Debezium source; restart it when it changes."""
        try:
            while True:
                await self._reconcile()
                await asyncio.sleep(self._refresh_s)
        finally:
            for _, task in self._running.values():
                task.cancel()
            for _, task in self._running.values():
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _reconcile(self) -> None:
        async with unit_of_work(self._sessions) as session:
            configured = await repository.cdc_sources(session)
        wanted = {sid: (tid, d) for sid, tid, d in configured}
        for sid in list(self._running):
            version, task = self._running[sid]
            if sid not in wanted or version != wanted[sid][1].model_dump_json() or task.done():
                task.cancel()
                del self._running[sid]
        for sid, (tenant_id, definition) in wanted.items():
            if sid not in self._running and definition.topic:
                source = Source(tenant_id, sid, "debezium", definition.mapping)
                task = asyncio.create_task(self._consume(source, definition.topic))
                self._running[sid] = (definition.model_dump_json(), task)

    async def _consume(self, source: Source, topic: str) -> None:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=self._bootstrap,
            group_id=f"{self._group_prefix}{SERVICE}.cdc.{source.source_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=500,
        )
        try:
            await consumer.start()
            log.info("cdc source consuming", source_id=source.source_id, topic=topic)
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                bodies = [r.value for recs in batch.values() for r in recs if r.value is not None]
                if bodies:
                    await self._process(source, bodies)
                if batch:
                    await consumer.commit()
        finally:
            await consumer.stop()

    async def _process(self, source: Source, bodies: list[bytes]) -> None:
        delay = 0.5
        while True:
            try:
                await self._pipeline.process(source, bodies, cdc=True)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "cdc batch failed, retrying",
                    source_id=source.source_id,
                    error=str(exc)[:200],
                    retry_in=delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
