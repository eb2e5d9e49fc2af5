"""Reading a whole topic back (chaos and the tests count what the services published)."""

import uuid
from dataclasses import replace

import pytest
from kpi_common.kafka import create_producer, ensure_topics, publish, running
from kpi_common.topic_reads import read_topic
from kpi_common.topics import KPI_BREACHES

from tests.conftest import Infra
from tests.integration.kpi_common.test_kafka import _event

pytestmark = pytest.mark.integration


async def test_every_read_returns_every_message_up_to_the_end(infra: Infra) -> None:
    # a read once raced the fetcher's own reset to the latest offset and returned nothing
    prefix = f"{infra.topic_prefix}reads-{uuid.uuid4().hex[:6]}."
    await ensure_topics(infra.kafka_bootstrap, prefix, 6, [KPI_BREACHES])
    topic = KPI_BREACHES.qualified(prefix)
    sent = [replace(_event(i, f"tenant-{i % 4}"), topic=topic) for i in range(12)]
    producer = create_producer(infra.kafka_bootstrap)
    async with running(producer):
        await publish(producer, sent)
    for _ in range(10):
        got = await read_topic(infra.kafka_bootstrap, topic)
        assert sorted(e.id for e in got) == sorted(m.envelope.id for m in sent)
