"""Delivery guarantees of the intake against real brokers: duplicates are not produced again
(also after a restart), a Kafka or PostgreSQL outage answers 503 and loses no acknowledged
event, the dedup window is pruned after its horizon, and a key over its rate answers 429."""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from kpi_common.db import create_engine, session_factory
from kpi_common.topics import METRICS_EVENTS
from kpi_ingest.config import Settings
from kpi_ingest.ingest import Retention, prune_once
from kpi_localinfra import KafkaServer, PostgresServer
from sqlalchemy import text

from tests.integration.kpi_ingest.conftest import (
    auth,
    make_settings,
    new_tenant,
    read_topic,
    running_app,
    wait_key_known,
)
from tests.support.procs import free_ports


def _events(ids: range, prefix: str = "e") -> list[dict[str, object]]:
    return [
        {
            "id": f"{prefix}-{i}",
            "metric": "erp.invoice.posted",
            "value": i,
            "time": "2026-02-03T10:00:00Z",
        }
        for i in ids
    ]


async def test_duplicates_are_not_produced_again_after_a_restart(settings: Settings) -> None:
    t = await new_tenant(settings)
    async with running_app(settings) as first:
        await wait_key_known(first, t.key)
        one = await first.post("/v1/events", json=_events(range(20)), headers=auth(t.key))
        assert one.status_code == 202, one.text
        assert one.json()["accepted"] == 20
    async with running_app(settings) as second:
        again = await second.post("/v1/events", json=_events(range(10, 30)), headers=auth(t.key))
        assert again.status_code == 202, again.text
        assert (again.json()["accepted"], again.json()["duplicates"]) == (10, 10)
    produced = await read_topic(
        settings.kafka_bootstrap, METRICS_EVENTS.qualified(settings.topic_prefix)
    )
    ids = Counter(e.id for _, e in produced if e.tenant_id == t.tenant_id)
    assert set(ids) == {f"e-{i}" for i in range(30)}
    assert set(ids.values()) == {1}


async def test_two_replicas_racing_on_the_same_ids_produce_each_once(settings: Settings) -> None:
    t = await new_tenant(settings)
    async with running_app(settings) as a, running_app(settings) as b:
        await wait_key_known(a, t.key)
        await wait_key_known(b, t.key)
        batches = [_events(range(i, i + 30)) for i in range(0, 60, 10)]
        answers = await asyncio.gather(
            *[
                c.post("/v1/events", json=body, headers=auth(t.key))
                for body in batches
                for c in (a, b)
            ]
        )
    assert sum(r.json()["accepted"] for r in answers) == 80
    produced = await read_topic(
        settings.kafka_bootstrap, METRICS_EVENTS.qualified(settings.topic_prefix)
    )
    ids = Counter(e.id for _, e in produced if e.tenant_id == t.tenant_id)
    assert set(ids) == {f"e-{i}" for i in range(80)}
    assert set(ids.values()) == {1}


async def test_while_kafka_is_down_requests_get_503_and_no_acknowledged_event_is_lost(
    settings: Settings, tmp_path: Path
) -> None:
    kafka = KafkaServer(tmp_path / "kafka", *free_ports(2))
    await asyncio.to_thread(kafka.start)
    try:
        own = make_settings(settings.database_url, kafka.bootstrap, settings.topic_prefix)
        await _outage_round_trip(own, kafka)
    finally:
        await asyncio.to_thread(kafka.stop)


async def _outage_round_trip(settings: Settings, kafka: KafkaServer) -> None:
    t = await new_tenant(settings)
    async with running_app(settings) as client:
        await wait_key_known(client, t.key)
        before = await client.post("/v1/events", json=_events(range(10)), headers=auth(t.key))
        assert before.status_code == 202
        await asyncio.to_thread(kafka.stop)
        during = [
            await client.post("/v1/events", json=_events(range(10, 20)), headers=auth(t.key))
            for _ in range(3)
        ]
        assert [r.status_code for r in during] == [503, 503, 503]
        assert all(int(r.headers["Retry-After"]) >= 1 for r in during)
        await asyncio.to_thread(kafka.start)
        after = await _retry_until_accepted(client, _events(range(10, 20)), t.key)
        assert (after["accepted"], after["duplicates"]) == (10, 0)
    produced = await read_topic(
        settings.kafka_bootstrap, METRICS_EVENTS.qualified(settings.topic_prefix)
    )
    ids = Counter(e.id for _, e in produced if e.tenant_id == t.tenant_id)
    assert set(ids) == {f"e-{i}" for i in range(20)}
    assert set(ids.values()) == {1}


async def test_while_postgres_is_down_requests_get_503_and_a_retry_is_accepted(
    settings: Settings, tmp_path: Path
) -> None:
    """A refused connection (PostgreSQL stopped, not only a broken pooled connection) is a 503
    with Retry-After, which senders retry; a 500 made `kpi send` give up (found by chaos)."""
    postgres = PostgresServer(tmp_path / "postgres", free_ports(1)[0])
    await asyncio.to_thread(postgres.start)
    try:
        own = make_settings(postgres.url, settings.kafka_bootstrap, settings.topic_prefix)
        t = await new_tenant(own)
        async with running_app(own) as client:
            await wait_key_known(client, t.key)
            await asyncio.to_thread(postgres.stop)
            during = [
                await client.post("/v1/events", json=_events(range(10)), headers=auth(t.key))
                for _ in range(3)
            ]
            assert [r.status_code for r in during] == [503, 503, 503]
            assert all(int(r.headers["Retry-After"]) >= 1 for r in during)
            await asyncio.to_thread(postgres.start)
            after = await _retry_until_accepted(client, _events(range(10)), t.key)
            assert (after["accepted"], after["duplicates"]) == (10, 0)
    finally:
        await asyncio.to_thread(postgres.stop)


async def _retry_until_accepted(
    client: httpx.AsyncClient, body: list[dict[str, object]], key: str
) -> dict[str, int]:
    """What a well-behaved sender does: retry on 503 until 202 (bounded)."""
    async with asyncio.timeout(90):
        while True:
            resp = await client.post("/v1/events", json=body, headers=auth(key))
            if resp.status_code == 202:
                answer: dict[str, int] = resp.json()
                return answer
            assert resp.status_code == 503, resp.text
            await asyncio.sleep(0.2)


async def test_claims_older_than_the_horizon_are_pruned_and_the_id_is_new_again(
    settings: Settings,
) -> None:
    t = await new_tenant(settings)
    long_ago = datetime.now(UTC) - timedelta(days=8)
    async with running_app(settings, clock=lambda: long_ago) as old:
        await wait_key_known(old, t.key)
        body = [{"id": "old-1", "metric": "crm.deal.won", "value": 1, "time": long_ago.isoformat()}]
        assert (await old.post("/v1/events", json=body, headers=auth(t.key))).json()[
            "accepted"
        ] == 1
    async with running_app(settings) as now:
        recent = await now.post("/v1/events", json=_events(range(1)), headers=auth(t.key))
        assert recent.json()["accepted"] == 1
        engine = create_engine(settings.database_url, pool_size=1)
        try:
            horizon = datetime.now(UTC) - timedelta(days=settings.dedup_horizon_days)
            assert await prune_once(session_factory(engine), horizon) >= 1
        finally:
            await engine.dispose()
        body = [{"id": "old-1", "metric": "crm.deal.won", "value": 1}]
        again = await now.post("/v1/events", json=body + _events(range(1)), headers=auth(t.key))
        assert (again.json()["accepted"], again.json()["duplicates"]) == (1, 1)


async def test_old_rejects_and_webhook_signatures_are_pruned_and_recent_ones_kept(
    settings: Settings,
) -> None:
    t = await new_tenant(settings)
    source, now = f"src-{t.tenant_id}", datetime.now(UTC)
    ages = {"old": now - timedelta(days=40), "new": now - timedelta(hours=1)}
    async with running_app(settings):
        engine = create_engine(settings.database_url, pool_size=1)
        try:
            async with engine.begin() as conn:
                for name, at in ages.items():
                    await conn.execute(
                        text(
                            "INSERT INTO ingest.source_rejects"
                            " (source_id, tenant_id, reason, payload, received_at)"
                            " VALUES (:s, :t, 'bad', '{}', :at)"
                        ),
                        {"s": source, "t": t.tenant_id, "at": at},
                    )
                    await conn.execute(
                        text(
                            "INSERT INTO ingest.source_signatures (source_id, signature, seen_at)"
                            " VALUES (:s, :sig, :at)"
                        ),
                        {"s": source, "sig": f"sig-{name}", "at": at},
                    )
            retention = Retention(horizon=timedelta(days=7), rejects=timedelta(days=30))
            sessions = session_factory(engine)
            for table, before in retention.cutoffs(now).items():
                await prune_once(sessions, before, table)
            async with engine.connect() as conn:
                rejects = await conn.scalar(
                    text("SELECT count(*) FROM ingest.source_rejects WHERE source_id = :s"),
                    {"s": source},
                )
                signatures = await conn.scalars(
                    text("SELECT signature FROM ingest.source_signatures WHERE source_id = :s"),
                    {"s": source},
                )
                assert (rejects, list(signatures)) == (1, ["sig-new"])
        finally:
            await engine.dispose()


async def test_a_key_over_its_rate_gets_429_with_retry_after(settings: Settings) -> None:
    slow = settings.model_copy(update={"rate_events_per_s": 0.01, "rate_burst": 5})
    t = await new_tenant(settings)
    async with running_app(slow) as client:
        await wait_key_known(client, t.key)
        ok = await client.post("/v1/events", json=_events(range(4)), headers=auth(t.key))
        assert ok.status_code == 202
        over = await client.post("/v1/events", json=_events(range(4, 6)), headers=auth(t.key))
        assert over.status_code == 429
        assert over.json()["error"]["code"] == "rate_limited"
        assert int(over.headers["Retry-After"]) >= 100
