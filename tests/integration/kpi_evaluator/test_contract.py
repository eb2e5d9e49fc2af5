"""goals.changes v2 on the real Kafka and Postgres: a definition that does not parse is
dead-lettered and stalls no one, v1 rows give way to the v2 goals republishes, and a
`direction: range` KPI is judged by its band end to end."""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from kpi_common.apikeys import hash_api_key, new_api_key
from kpi_common.events import ApiKeyUpserted, Envelope, decode, make_envelope
from kpi_common.topics import DEAD_LETTER, GOALS_CHANGES
from kpi_evaluator.config import Settings
from prometheus_client import REGISTRY
from sqlalchemy import text

from tests.integration.kpi_evaluator.conftest import (
    Clock,
    Running,
    Tenant,
    metric,
    running_app,
    send,
    send_metrics,
    wait_until,
)
from tests.support import strategy_events

NOW = datetime(2026, 2, 15, tzinfo=UTC)  # half way through 2026-Q1


def dead_lettered() -> float:
    labels = {"service": "evaluator"}
    return REGISTRY.get_sample_value("kpi_consumer_dead_lettered_total", labels) or 0.0


def with_key(tenant_id: str, envelopes: list[Envelope]) -> tuple[Tenant, list[Envelope]]:
    key = new_api_key()
    data = ApiKeyUpserted(key_id=uuid.uuid4().hex, key_hash=hash_api_key(key), role="viewer")
    env = make_envelope(
        id=uuid.uuid4().hex, tenant_id=tenant_id, producer="goals", time=NOW, data=data
    )
    return Tenant(tenant_id, key), [*envelopes, env]


def broken(env: Envelope, **change: Any) -> Envelope:
    """A v2 `node.upserted` whose definition goals would never publish."""
    data = orjson.loads(orjson.dumps(env.data))
    data["definition"].update(change)
    data["revision"] = 2
    return env.model_copy(update={"id": f"{env.id}:broken:{len(change)}", "data": data})


async def read_dead_letters(settings: Settings, expected: int) -> list[Envelope]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"reader-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
    )
    consumer.subscribe([DEAD_LETTER.qualified(settings.topic_prefix)])
    out: list[Envelope] = []
    try:
        await consumer.start()
        async with asyncio.timeout(30):
            while len(out) < expected:
                batch = await consumer.getmany(timeout_ms=200)
                out += [decode(r.value) for recs in batch.values() for r in recs]
    finally:
        await consumer.stop()
    return out


async def status(app: Running, tenant: Tenant, kpi: str, period: str) -> dict[str, Any]:
    resp = await app.client.get(
        f"/v1/kpis/{kpi}/status", params={"period": period}, headers=tenant.auth
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def known(app: Running, tenant: str, kpis: int) -> None:
    async def complete() -> bool:
        strategy = await app.parts.strategies.get(tenant)
        return strategy is not None and len(strategy.kpis) == kpis

    await wait_until(complete)


async def test_a_definition_that_does_not_parse_is_dead_lettered_and_stalls_no_tenant(
    settings: Settings,
) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    tenant_a, good_a = with_key(a, strategy_events.events(a))
    tenant_b, good_b = with_key(b, strategy_events.events(b))
    revenue = next(e for e in good_a if e.data.get("node_id") == "revenue")
    bad = [
        broken(revenue, at_risk_below="x"),  # a KPI goals would refuse
        broken(revenue, measure={"kind": "metric", "metric": {"metric": "m"}}),  # malformed
    ]
    before = dead_lettered()
    async with running_app(settings, Clock(NOW)) as app:
        # one key: one partition, so B's strategy comes after the bad ones of A
        await send(settings, GOALS_CHANGES.name, [("one", e) for e in [*good_a, *bad, *good_b]])
        await known(app, b, 14)
        await known(app, a, 14)
        deals = [
            metric(t, "crm.deal.won", 1, "2026-01-05T10:00:00+00:00", {"new_customer": True})
            for t in (a, b, b)
        ]
        await send_metrics(settings, deals)
        await app.wait_consumed(3)
        assert (await status(app, tenant_b, "new-clients", "2026-Q1"))["actual"] == 2
        assert (await status(app, tenant_a, "new-clients", "2026-Q1"))["actual"] == 1
        strategy_a = await app.parts.strategies.get(a)
        assert strategy_a is not None
        assert strategy_a.kpis["revenue"].at_risk_below == 0.9  # revision 1 stands
    assert dead_lettered() == before + 2
    letters = [e.data for e in await read_dead_letters(settings, 2)]
    reasons = sorted(str(d["reason"]) for d in letters)
    assert all(r.startswith("invalid node.upserted v2 data") for r in reasons)
    assert any("at_risk_below" in r for r in reasons)
    assert any("aggregation" in r for r in reasons)
    assert all(a in str(d["raw"]) for d in letters)


async def _rows(app: Running, tenant: str) -> dict[str, tuple[int, int]]:
    async with app.parts.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text("""SELECT node_id, revision, contract FROM evaluator.nodes
                    WHERE tenant_id = :t AND node_type = 'kpi'"""),
            {"t": tenant},
        )
        return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}


async def test_v1_rows_give_way_to_the_v2_republished_at_the_same_revision(
    settings: Settings,
) -> None:
    tenant = str(uuid.uuid4())
    async with running_app(settings, Clock(NOW)) as app:
        # rows a v1 evaluator stored before the upgrade (the migration marks them contract 1)
        async with app.parts.runtime.engine.begin() as conn:
            await conn.execute(
                text("""INSERT INTO evaluator.nodes (tenant_id, node_type, node_id, revision,
                          definition, contract) VALUES (:t, 'kpi', 'revenue', 3, '{}', 1)"""),
                {"t": tenant},
            )
            await conn.execute(
                text("INSERT INTO evaluator.tenants (tenant_id, strategy_version) VALUES (:t, 1)"),
                {"t": tenant},
            )
        assert (await app.parts.strategies.get(tenant)).kpis == {}  # type: ignore[union-attr]
        superseded = REGISTRY.get_sample_value("evaluator_nodes_superseded_total") or 0.0
        v1 = strategy_events.events_v1(tenant, revision=4)  # ignored, however new
        v2 = strategy_events.events(tenant, revision=3)
        await send(settings, GOALS_CHANGES.name, [("one", e) for e in [*v1, *v2]])
        await known(app, tenant, 14)
        rows = await _rows(app, tenant)
        assert rows["revenue"] == (3, 2)
        assert set(rows.values()) == {(3, 2)}
        after = REGISTRY.get_sample_value("evaluator_nodes_superseded_total") or 0.0
        assert after - superseded == len(v1)


async def test_a_range_kpi_is_judged_by_its_band(settings: Settings) -> None:
    doc = strategy_events.load()
    doc["kpis"] = [
        {
            "id": "nps",
            "title": "Net promoter score",
            "unit": "sales",
            "so_that": "service-customers-value",
            "period": "quarter",
            "direction": "range",
            "target": {"min": 0, "max": 5},
            "measure": {"metric": "survey.nps", "aggregation": "avg"},
        }
    ]
    doc["reviews"] = []
    tenant_id = str(uuid.uuid4())
    tenant, envs = with_key(tenant_id, strategy_events.events(tenant_id, doc))
    async with running_app(settings, Clock(NOW)) as app:
        await send(settings, GOALS_CHANGES.name, [("one", e) for e in envs])
        await known(app, tenant_id, 1)
        q1 = [metric(tenant_id, "survey.nps", v, "2026-01-10T00:00:00+00:00") for v in (-1, 0.5)]
        q4 = [metric(tenant_id, "survey.nps", 3, "2025-12-10T00:00:00+00:00")]
        await send_metrics(settings, [*q1, *q4])
        await app.wait_consumed(3)
        # avg -0.25 below the band [0, 5]: p = 1 - 0.25 / 5 = 0.95 -> at_risk, midpoint 2.5
        now = await status(app, tenant, "nps", "2026-Q1")
        assert (now["actual"], now["target"], now["status"]) == (-0.25, 2.5, "at_risk")
        assert abs(now["score"] - 0.95) < 1e-9
        closed = await status(app, tenant, "nps", "2025-Q4")  # 3 inside, the quarter closed
        assert (closed["status"], closed["score"]) == ("achieved", 1.0)
