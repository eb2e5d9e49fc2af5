"""Reading topics up to their end: where each partition ends now, waiting until a consumer's
stored offsets reach those ends, and reading a whole topic. No business rules: the services
use these to know a topic (the strategy on `goals.changes`) before consuming another; the
fault suite and the tests read what the services published."""

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition

from kpi_common.events import Envelope, decode
from kpi_common.kafka import OffsetStore, running
from kpi_common.logging import get_logger

log = get_logger(__name__)


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    """The next offset to be written per partition of `topic` (none when it does not exist)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    async with running(consumer):
        return await _ends(consumer, topic)


async def _ends(consumer: AIOKafkaConsumer, topic: str) -> dict[TopicPartition, int]:
    cluster = await consumer._client.fetch_all_metadata()
    partitions = cluster.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    if not tps:
        return {}
    consumer.assign(tps)
    return dict(await consumer.end_offsets(tps))


async def wait_caught_up(store: OffsetStore, bootstrap: str, topic: str, timeout_s: float) -> None:
    """Wait until the offsets in `store` reach the ends `topic` had when we started, so what
    it carries is known before another topic is consumed (bounded; then go on anyway)."""
    try:
        async with asyncio.timeout(timeout_s):
            ends = {tp: n for tp, n in (await end_offsets(bootstrap, topic)).items() if n > 0}
            while True:
                stored = await store.load(list(ends))
                if all(stored.get(tp, 0) >= n for tp, n in ends.items()):
                    return
                await asyncio.sleep(0.2)
    except TimeoutError:
        log.warning("topic not caught up in time, going on anyway", topic=topic)


async def read_topic(bootstrap: str, topic: str, timeout_s: float = 60.0) -> list[Envelope]:
    """Every committed message on `topic` up to its current end, in partition order."""
    # earliest: once assigned, the fetcher resets positions on its own, racing the seek below;
    # with the default (latest) a read could start at the end and return nothing
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
    )
    async with running(consumer):
        end = await _ends(consumer, topic)
        out: list[Envelope] = []
        if not end:
            return out
        await consumer.seek_to_beginning(*end)
        async with asyncio.timeout(timeout_s):
            while [tp for tp in end if await consumer.position(tp) < end[tp]]:
                batch = await consumer.getmany(timeout_ms=200)
                out += [decode(r.value) for recs in batch.values() for r in recs]
        return out
