"""The notifier's two consumers, offsets in Postgres for both. `goals.changes` (the strategy:
people, routes, channels) has a group of its own and is read to its end before `kpi.breaches`
and `kpi.status` are consumed, so a backlogged breach never comes before the strategy that
names its recipients; after that both follow their topics side by side."""

from kpi_common.kafka import BatchConsumer, BatchHandler, dead_letter_topic, running
from kpi_common.offsets import PgOffsetStore
from kpi_common.service import ServiceRuntime
from kpi_common.topic_reads import wait_caught_up
from kpi_common.topics import GOALS_CHANGES, KPI_BREACHES, KPI_STATUS

from kpi_notifier.config import SERVICE, Settings
from kpi_notifier.repository import OFFSETS


def group_ids(settings: Settings) -> tuple[str, str]:
    base = f"{settings.topic_prefix}{settings.consumer_group}"
    return f"{base}.strategy", f"{base}.kpi"


class Consumers:
    def __init__(self, runtime: ServiceRuntime, settings: Settings, handler: BatchHandler) -> None:
        self._runtime = runtime
        self._settings = settings
        self._handler = handler
        self._store = PgOffsetStore(runtime.engine, OFFSETS)

    def _consumer(self, topics: list[str], group_id: str) -> BatchConsumer:
        return BatchConsumer(
            bootstrap=self._settings.kafka_bootstrap,
            topics=topics,
            group_id=group_id,
            producer=self._runtime.kafka.producer,
            dead_letter_topic=dead_letter_topic(self._settings.topic_prefix),
            handler=self._handler,
            offset_store=self._store,
            service=SERVICE,
        )

    async def strategy(self) -> None:
        await self._runtime.kafka.connected.wait()
        topic = self._runtime.topic(GOALS_CHANGES.name)
        await _run(self._consumer([topic], group_ids(self._settings)[0]))

    async def kpi(self) -> None:
        """Waits for the strategy consumer to reach the end `goals.changes` has now."""
        await self._runtime.kafka.connected.wait()
        strategy = self._runtime.topic(GOALS_CHANGES.name)
        bootstrap = self._settings.kafka_bootstrap
        await wait_caught_up(self._store, bootstrap, strategy, self._settings.strategy_catch_up_s)
        topics = [self._runtime.topic(t.name) for t in (KPI_BREACHES, KPI_STATUS)]
        await _run(self._consumer(topics, group_ids(self._settings)[1]))


async def _run(consumer: BatchConsumer) -> None:
    async with running(consumer):
        await consumer.run()
