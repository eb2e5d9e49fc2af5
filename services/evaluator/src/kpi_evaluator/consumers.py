"""The evaluator's two consumer loops, offsets in Postgres for both:
`goals.changes` (the strategy copy) first, then `metrics.events`."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from kpi_common.kafka import BatchConsumer, BatchHandler, dead_letter_topic, running
from kpi_common.offsets import PgOffsetStore
from kpi_common.service import ServiceRuntime
from kpi_common.topic_reads import wait_caught_up
from kpi_common.topics import GOALS_CHANGES, METRICS_EVENTS

from kpi_evaluator.config import SERVICE, Settings
from kpi_evaluator.metrics import LAG
from kpi_evaluator.strategy_repo import offsets_table


def utcnow() -> datetime:
    return datetime.now(UTC)


def group_ids(settings: Settings) -> tuple[str, str]:
    base = f"{settings.topic_prefix}{settings.group_id}"
    return f"{base}.strategy", f"{base}.metrics"


class ConsumerLoops:
    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: Settings,
        goals_handler: BatchHandler,
        metrics_handler: BatchHandler,
    ) -> None:
        self._runtime = runtime
        self._settings = settings
        self._goals_handler = goals_handler
        self._metrics_handler = metrics_handler
        self.metrics_consumer: BatchConsumer | None = None
        strategy_group, metrics_group = group_ids(settings)
        self.strategy_store = PgOffsetStore(runtime.engine, offsets_table(strategy_group))
        self.metrics_store = PgOffsetStore(runtime.engine, offsets_table(metrics_group))

    def _consumer(
        self, topic: str, store: PgOffsetStore, handler: BatchHandler, max_records: int
    ) -> BatchConsumer:
        return BatchConsumer(
            bootstrap=self._settings.kafka_bootstrap,
            topics=[topic],
            group_id=str(store.table.group_id),  # the evaluator keeps offsets per group
            producer=self._runtime.kafka.producer,
            dead_letter_topic=dead_letter_topic(self._settings.topic_prefix),
            handler=handler,
            offset_store=store,
            service=SERVICE,
            max_records=max_records,
        )

    async def goals(self) -> None:
        await self._runtime.kafka.connected.wait()
        topic = GOALS_CHANGES.qualified(self._settings.topic_prefix)
        batch = self._settings.strategy_max_batch
        await _run(self._consumer(topic, self.strategy_store, self._goals_handler, batch))

    async def metrics(self) -> None:
        await self._runtime.kafka.connected.wait()
        prefix = self._settings.topic_prefix
        goals_topic = GOALS_CHANGES.qualified(prefix)
        await wait_caught_up(self.strategy_store, self._settings.kafka_bootstrap, goals_topic, 60)
        consumer = self._consumer(
            METRICS_EVENTS.qualified(prefix),
            self.metrics_store,
            self._metrics_handler,
            self._settings.max_batch,
        )
        self.metrics_consumer = consumer
        await _run(consumer, lambda: _report_lag(consumer, METRICS_EVENTS.name))


async def _report_lag(consumer: BatchConsumer, topic: str) -> None:
    while True:
        LAG.labels(topic).set(consumer.lag())
        await asyncio.sleep(1.0)


async def _run(consumer: BatchConsumer, side: Callable[[], Awaitable[None]] | None = None) -> None:
    async with running(consumer):
        task = asyncio.ensure_future(side()) if side else None
        try:
            await consumer.run()
        finally:
            if task:
                task.cancel()
