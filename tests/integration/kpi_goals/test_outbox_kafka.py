"""goals.changes through the outbox on the real Kafka: the documented events, in order per
node, and delivery after a Kafka outage (on a disposable broker of this test's own)."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from asgi_lifespan import LifespanManager
from kpi_common.events import Envelope, decode
from kpi_common.topics import GOALS_CHANGES
from kpi_goals.handlers import republish_contract
from kpi_goals.main import create_app
from kpi_localinfra import KafkaServer
from sqlalchemy import text

from tests.conftest import Infra, _psql, _with_database
from tests.integration.kpi_goals.conftest import Clock, Goals, Tenant, settings_for
from tests.support import strategy_events
from tests.support.procs import free_ports
from tests.support.strategy_events import ACME


async def read_until(
    bootstrap: str, topic: str, tenant_id: str, done: Callable[[list[Envelope]], bool]
) -> list[Envelope]:
    """This tenant's events on `topic`, from the beginning, until `done` says enough."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"r-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    seen: list[Envelope] = []
    try:
        await consumer.start()
        async with asyncio.timeout(90):
            while not done(seen):
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    seen += [e for r in records if (e := decode(r.value)).tenant_id == tenant_id]
    finally:
        await consumer.stop()
    return seen


def upserts(events: list[Envelope]) -> list[Envelope]:
    return [e for e in events if e.type == "node.upserted"]


def by_node(upserted: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Each node's upserts in the order they arrived (the order Kafka keeps)."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for data in upserted:
        out.setdefault((data["node_type"], data["node_id"]), []).append(data)
    return out


async def test_applied_changes_reach_kafka_as_the_documented_events(
    goals: Goals, acme: Tenant, infra: Infra
) -> None:
    topic = GOALS_CHANGES.qualified(infra.topic_prefix)
    expected = strategy_events.events(acme.tenant_id)
    got = await read_until(
        infra.kafka_bootstrap, topic, acme.tenant_id, lambda s: len(upserts(s)) >= len(expected)
    )
    # Kafka orders events per key (per node), not across partitions: compare per node.
    [created] = [e for e in got if e.type == "tenant.created"]
    [key] = [e for e in got if e.type == "apikey.upserted"]
    assert created.data["slug"]
    assert key.data["role"] == "admin"
    assert key.data["key_hash"].startswith("sha256:")
    assert (key.version, key.data["revision"]) == (2, 1)
    assert key.id == f"{acme.tenant_id}:apikey:{key.data['key_id']}:r1:v2"
    want = [orjson.loads(orjson.dumps(e.data)) for e in expected]
    assert by_node([e.data for e in upserts(got)]) == by_node(want)

    edited = ACME.read_text().replace("    target: 50\n", "    target: 45\n")
    assert (await acme.apply(edited)).status_code == 200
    got = await read_until(
        infra.kafka_bootstrap, topic, acme.tenant_id, lambda s: len(upserts(s)) > len(expected)
    )
    last = [e for e in upserts(got) if e.data["node_id"] == "new-clients"][-1]
    assert (last.data["node_id"], last.data["revision"]) == ("new-clients", 2)
    assert last.data["definition"]["targets"]["default"] == 45
    assert last.id == f"{acme.tenant_id}:kpi:new-clients:r2:v2"


@pytest.fixture
async def outage_db(infra: Infra) -> AsyncIterator[str]:
    """A database of this test's own, so no other relay takes its outbox rows."""
    name = f"kpi_goals_outage_{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(_psql, infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    await asyncio.to_thread(
        _psql, infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    )


async def test_apply_succeeds_while_kafka_is_down_and_events_go_out_when_it_returns(
    infra: Infra, outage_db: str, tmp_path: Path
) -> None:
    broker = KafkaServer(tmp_path / "kafka", *free_ports(2))
    await asyncio.to_thread(broker.start)
    try:
        settings = settings_for(infra, database_url=outage_db, kafka_bootstrap=broker.bootstrap)
        app = create_app(settings, clock=Clock())
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
            goals = Goals(
                app,
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://goals"),
                Clock(),
            )
            async with asyncio.timeout(60):
                await app.state.runtime.kafka.connected.wait()
            tenant = await goals.tenant("outage")
            topic = GOALS_CHANGES.qualified(infra.topic_prefix)
            await read_until(broker.bootstrap, topic, tenant.tenant_id, lambda s: len(s) >= 2)

            await asyncio.to_thread(broker.stop)
            resp = await tenant.apply(ACME.read_bytes())
            assert resp.status_code == 200, resp.text
            assert resp.json()["created"] > 0
            assert await app.state.relay.backlog() > 0

            await asyncio.to_thread(broker.start)
            count = len(strategy_events.events(tenant.tenant_id))
            got = await read_until(
                broker.bootstrap, topic, tenant.tenant_id, lambda s: len(upserts(s)) >= count
            )
            assert [e.data["node_id"] for e in upserts(got)][:2] == ["organization", "acme"]
            await goals.http.aclose()
    finally:
        await asyncio.to_thread(broker.stop)


async def test_the_v2_migration_republishes_every_live_node_once(
    goals: Goals, acme: Tenant, infra: Infra
) -> None:
    """One-step replay (docs/events.md): a goals that last published v1 sends every live
    node again as v2 at its current revision, exactly once."""
    deps = goals.app.state.deps
    async with deps.sessions() as session, session.begin():
        await session.execute(text("UPDATE goals.contract_state SET published_version = 1"))
    sent = await republish_contract(deps)
    assert sent >= len(strategy_events.events(acme.tenant_id))
    assert await republish_contract(deps) == 0  # once
    topic = GOALS_CHANGES.qualified(infra.topic_prefix)
    expected = len(strategy_events.events(acme.tenant_id))
    got = await read_until(
        infra.kafka_bootstrap, topic, acme.tenant_id, lambda s: len(upserts(s)) >= 2 * expected
    )
    nodes = by_node([e.data for e in upserts(got)])
    assert all(len(v) == 2 and v[0] == v[1] for v in nodes.values())
    assert {e.version for e in upserts(got)} == {2}
