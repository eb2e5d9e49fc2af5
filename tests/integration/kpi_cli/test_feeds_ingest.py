"""The demo's source definitions and simulated raw payloads through the real metrics-ingest
(in-process app, real Kafka and Postgres): signed HubSpot and billing webhooks, Debezium rows
on raw topics, a CloudEvents batch; every one comes out on metrics.events as the metric
event expected, and the same deliveries again add nothing."""

from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from kpi_cli.feed_delivery import Sender
from kpi_cli.feed_sources import FeedSources, expected
from kpi_cli.feeds import Raw, Transport, render
from kpi_cli.simulation import Simulation
from kpi_common.kafka import create_producer
from kpi_common.topics import METRICS_EVENTS

from tests.conftest import Infra
from tests.integration.kpi_ingest.conftest import (
    auth,
    make_settings,
    new_tenant,
    read_topic,
    running_app,
    wait_key_known,
    wait_until,
)
from tests.support.goals_targets import contract_targets
from tests.support.strategy_events import load

NOW = datetime(2026, 3, 27, 12, tzinfo=UTC)
PER_FEED = 25
PLANTS = {"bounce-rate": "stale"}
TRANSPORTS = ("hubspot", "billing", "payments", "ledger")
DEBEZIUM: tuple[Transport, ...] = ("payments", "ledger")


def _sample() -> list[tuple[Raw, dict[str, Any]]]:
    """Up to PER_FEED events per transport (and per metric), from the acme simulation."""
    taken: dict[str, int] = {}
    out = []
    doc = load()
    for event in Simulation(doc, NOW, contract_targets(doc), seed=11, plants=PLANTS).events():
        raw = render(event)
        key = f"{raw.transport}:{event['metric']}"
        if taken.get(key, 0) < PER_FEED:
            taken[key] = taken.get(key, 0) + 1
            out.append((raw, event))
    return out


async def _raw_topics(bootstrap: str, feeds: FeedSources) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [NewTopic(feeds.topic(t), 1, 1) for t in DEBEZIUM]
        await admin.create_topics(topics)
    finally:
        await admin.close()


def _normal(event: dict[str, Any]) -> dict[str, Any]:
    when = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
    return {**event, "time": when.astimezone(UTC).isoformat(), "value": float(event["value"])}


@pytest.mark.timeout(120)
async def test_demo_feeds_come_out_of_ingest_as_the_expected_metric_events(
    infra: Infra, unique: str
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    settings = make_settings(infra.database_url, infra.kafka_bootstrap, prefix, cdc_refresh_s=0.2)
    feeds = FeedSources(f"demo-{unique}", "hub-secret", "bill-secret", prefix)
    sample = _sample()
    assert {raw.transport for raw, _ in sample} == {"cloudevents", *TRANSPORTS}
    want = {e["id"]: _normal(e) for e in (expected(raw, ev) for raw, ev in sample)}
    await _raw_topics(infra.kafka_bootstrap, feeds)
    async with running_app(settings) as client:
        tenant = await new_tenant(settings, role="admin")
        await wait_key_known(client, tenant.key)
        for source_id, definition in feeds.definitions().items():
            url = f"/v1/sources/{source_id}"
            resp = await client.put(url, json=definition, headers=auth(tenant.key))
            assert resp.status_code == 201, resp.text
        producer = create_producer(infra.kafka_bootstrap)
        await producer.start()
        try:
            sender = Sender(client, producer, feeds, tenant.key, lambda: datetime.now(UTC))
            await sender.send([raw for raw, _ in sample])
            assert sender.tally.rejected == []
            got = await _observed(infra, prefix, set(want))
            assert {i: _normal(e) for i, e in got.items()} == want
            again = Sender(client, producer, feeds, tenant.key, lambda: datetime.now(UTC))
            await again.send([raw for raw, _ in sample])
            assert again.tally.accepted == 0
            await _cdc_committed(infra.kafka_bootstrap, prefix, feeds)
            assert len(await _observed(infra, prefix, set(want))) == len(want)
        finally:
            await producer.stop()


async def _cdc_committed(bootstrap: str, prefix: str, feeds: FeedSources) -> None:
    """Until each Debezium source's consumer committed the end of its raw topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for transport in DEBEZIUM:
            tp = TopicPartition(feeds.topic(transport), 0)
            group = f"{prefix}metrics-ingest.cdc.{feeds.source_id(transport)}"
            end = await _end_offset(bootstrap, tp)

            async def caught_up(group: str = group, tp: TopicPartition = tp) -> bool:
                offsets = await admin.list_consumer_group_offsets(group)
                return tp in offsets and offsets[tp].offset >= end  # noqa: B023 (awaited here)

            await wait_until(caught_up, 60)
    finally:
        await admin.close()


async def _end_offset(bootstrap: str, tp: TopicPartition) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    try:
        await consumer.start()
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def _observed(infra: Infra, prefix: str, ids: set[str]) -> dict[str, dict[str, Any]]:
    topic = METRICS_EVENTS.qualified(prefix)
    found: dict[str, dict[str, Any]] = {}
    count = 0

    async def all_there() -> bool:
        nonlocal count
        records = await read_topic(infra.kafka_bootstrap, topic)
        count = len(records)
        for _key, env in records:
            d = env.data
            found[env.id] = {
                "id": env.id,
                "metric": d["metric"],
                "value": d["value"],
                "time": d["time"],
                "dimensions": d["dimensions"],
            }
        return ids <= set(found)

    await wait_until(all_there, 60)
    assert count == len(found), "an event id was produced twice"
    return found
