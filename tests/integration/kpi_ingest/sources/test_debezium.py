"""A Debezium source consumes its raw change topic: inserts become metric events once, rows
that cannot be mapped are dead-lettered and listed."""

from collections import Counter

import orjson
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from kpi_common.kafka import create_producer
from kpi_common.topics import METRICS_EVENTS
from kpi_ingest.config import Settings

from tests.integration.kpi_ingest.conftest import (
    auth,
    new_tenant,
    read_topic,
    running_app,
    wait_key_known,
    wait_until,
)

MAPPING = [
    {
        "when": "op == 'c' || op == 'r'",
        "id": "join(':', ['invoice', to_string(after.id)])",
        "metric": "'erp.invoice.posted'",
        "value": "after.amount",
        "time": "ts_ms",
        "dimensions": {"region": "after.region"},
    }
]


def _change(op: str, row: dict[str, object] | None, wrapped: bool) -> bytes:
    payload = {
        "op": op,
        "before": None,
        "after": row,
        "source": {"table": "invoices"},
        "ts_ms": 1770112800000,
    }
    return orjson.dumps({"schema": {}, "payload": payload} if wrapped else payload)


async def _produce(settings: Settings, topic: str, values: list[bytes | None]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = create_producer(settings.kafka_bootstrap)
    await producer.start()
    try:
        for i, value in enumerate(values):
            await producer.send_and_wait(topic, value, key=str(i).encode())
    finally:
        await producer.stop()


async def test_cdc_rows_become_events_once_and_garbage_is_dead_lettered(
    settings: Settings, unique: str
) -> None:
    fast = settings.model_copy(update={"cdc_refresh_s": 0.2})
    topic = f"{settings.topic_prefix}erp.public.invoices"
    await _produce(
        settings,
        topic,
        [
            _change("c", {"id": 1, "amount": 100.5, "region": "emea"}, wrapped=True),
            _change("r", {"id": 2, "amount": 20, "region": "amer"}, wrapped=False),
            _change("u", {"id": 1, "amount": 99, "region": "emea"}, wrapped=False),
            _change("c", {"id": 3, "region": "emea"}, wrapped=False),
            None,  # tombstone after a delete
            b"not json",
        ],
    )
    admin = await new_tenant(settings, "admin")
    sid = f"cdc-{unique}"
    definition = {"kind": "debezium", "topic": topic, "mapping": MAPPING}
    async with running_app(fast) as client:
        await wait_key_known(client, admin.key)
        put = await client.put(f"/v1/sources/{sid}", json=definition, headers=auth(admin.key))
        assert put.status_code == 201, put.text

        async def all_rejects_listed() -> bool:
            got = await client.get(f"/v1/sources/{sid}/rejects", headers=auth(admin.key))
            return len(got.json()["items"]) == 3

        await wait_until(all_rejects_listed)
        rejects = (await client.get(f"/v1/sources/{sid}/rejects", headers=auth(admin.key))).json()
        by_payload = {i["payload"]: i["reason"] for i in rejects["items"]}
    assert "line 1 column 1" in by_payload["not json"]
    assert "rules[0].value: 'after.amount' gave no value" in "".join(by_payload.values())
    assert "the mapping produced no events" in "".join(by_payload.values())  # the update
    produced = await read_topic(
        settings.kafka_bootstrap, METRICS_EVENTS.qualified(settings.topic_prefix)
    )
    mine = [e for _, e in produced if e.tenant_id == admin.tenant_id]
    assert Counter(e.id for e in mine) == {"invoice:1": 1, "invoice:2": 1}
    assert {e.data["source_id"] for e in mine} == {sid}
    assert sorted(e.data["value"] for e in mine) == [20.0, 100.5]
