"""POST /v1/events against the real Kafka and Postgres: every accepted id lands on
metrics.events exactly once under its tenant key, in every accepted shape."""

from collections import Counter

import httpx
import orjson
from kpi_common.topics import METRICS_EVENTS
from kpi_ingest.config import Settings

from tests.integration.kpi_ingest.conftest import (
    auth,
    new_tenant,
    read_topic,
    running_app,
    wait_key_known,
)

T = "2026-02-03T10:00:00Z"


def _plain(i: int, metric: str = "crm.deal.won") -> dict[str, object]:
    return {"id": f"p-{i}", "metric": metric, "value": i, "time": T, "dimensions": {"n": i}}


def _ce(i: int) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": f"ce-{i}",
        "source": "/erp",
        "type": "erp.invoice.posted",
        "time": T,
        "data": {"value": i * 10, "dimensions": {"region": "emea"}},
    }


async def test_every_accepted_id_is_produced_once_under_its_tenant_key(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    t = await new_tenant(settings)
    other = await new_tenant(settings)
    await wait_key_known(client, t.key)
    await wait_key_known(client, other.key)
    h = auth(t.key)

    plain = await client.post("/v1/events", json=[_plain(i) for i in range(50)], headers=h)
    single = await client.post("/v1/events", json=_plain(50, "web.session"), headers=h)
    structured = await client.post(
        "/v1/events",
        content=orjson.dumps(_ce(1)),
        headers={**h, "Content-Type": "application/cloudevents+json"},
    )
    batch = await client.post(
        "/v1/events",
        content=orjson.dumps([_ce(i) for i in range(2, 12)]),
        headers={**h, "Content-Type": "application/cloudevents-batch+json"},
    )
    binary = await client.post(
        "/v1/events",
        content=b'{"value": 5, "dimensions": {"region": "amer"}}',
        headers={
            **h,
            "Content-Type": "application/json",
            "ce-specversion": "1.0",
            "ce-id": "bin-1",
            "ce-type": "erp.invoice.paid",
            "ce-source": "/erp",
            "ce-time": T,
        },
    )
    again = await client.post("/v1/events", json=[_plain(i) for i in range(45, 55)], headers=h)
    # The same ids from another tenant are that tenant's own events.
    theirs = await client.post("/v1/events", json=[_plain(0)], headers=auth(other.key))

    answers = [r.json() for r in (plain, single, structured, batch, binary, again, theirs)]
    assert all(r.status_code == 202 for r in (plain, single, structured, batch, binary, again))
    assert [(a["accepted"], a["duplicates"]) for a in answers] == [
        (50, 0), (1, 0), (1, 0), (10, 0), (1, 0), (4, 6), (1, 0),
    ]  # fmt: skip

    produced = await read_topic(
        settings.kafka_bootstrap, METRICS_EVENTS.qualified(settings.topic_prefix)
    )
    mine = [(k, e) for k, e in produced if e.tenant_id == t.tenant_id]
    ids = Counter(e.id for _, e in mine)
    expected = {f"p-{i}" for i in range(55)} | {f"ce-{i}" for i in range(1, 12)} | {"bin-1"}
    assert set(ids) == expected
    assert set(ids.values()) == {1}
    for key, env in mine:
        assert key == f"{t.tenant_id}:{env.data['metric']}".encode()
        assert env.type == "metric.observed"
        assert env.producer == "metrics-ingest"
    bin_event = next(e for _, e in mine if e.id == "bin-1")
    assert bin_event.data["value"] == 5
    assert bin_event.data["dimensions"] == {"region": "amer"}
    assert [e.id for k, e in produced if e.tenant_id == other.tenant_id] == ["p-0"]


async def test_rejected_events_are_named_by_index_and_the_rest_accepted(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    t = await new_tenant(settings)
    await wait_key_known(client, t.key)
    body = [_plain(1), {**_plain(2), "value": "lots"}, _plain(3), {**_plain(4), "metric": "Bad!"}]
    resp = await client.post("/v1/events", json=body, headers=auth(t.key))
    assert resp.status_code == 202
    answer = resp.json()
    assert (answer["accepted"], answer["duplicates"]) == (2, 0)
    assert [r["index"] for r in answer["rejected"]] == [1, 3]
    assert answer["rejected"][0]["reason"].startswith("value:")
    assert answer["rejected"][1]["reason"].startswith("metric: must match the pattern")


async def test_request_limits_name_the_limit(settings: Settings) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048, "max_events": 5})
    async with running_app(small) as client:
        t = await new_tenant(settings)
        await wait_key_known(client, t.key)
        h = auth(t.key)
        big = await client.post("/v1/events", content=b"[" + b" " * 4000 + b"]", headers=h)
        assert big.status_code == 413
        assert "2048 bytes" in big.json()["error"]["message"]
        many = await client.post("/v1/events", json=[_plain(i) for i in range(6)], headers=h)
        assert many.status_code == 422
        assert many.json()["error"]["code"] == "too_many_events"
        assert "limit of 5 events" in many.json()["error"]["message"]
        bad = await client.post("/v1/events", content=b"{not json", headers=h)
        assert bad.status_code == 400
        text = await client.post(
            "/v1/events", content=b"x", headers={**h, "Content-Type": "text/csv"}
        )
        assert text.status_code == 415
