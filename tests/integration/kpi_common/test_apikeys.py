"""The one key rule (kpi_common.apikeys.upsert_key) on each service's own key table, after
its migrations: the newest revision wins, and a revoked key stays revoked whatever the
order or the number of replays of the events."""

import itertools
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from kpi_common.apikeys import KeyRecord, upsert_key
from kpi_common.db import run_migrations
from kpi_evaluator.models import api_keys as evaluator_keys
from kpi_ingest.models import api_keys as ingest_keys
from kpi_notifier.models import api_keys as notifier_keys
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.kpi_common.test_db_and_outbox import ROOT, SERVICES

pytestmark = pytest.mark.integration

TABLES = {"ingest": ingest_keys, "evaluator": evaluator_keys, "notifier": notifier_keys}


def record(key_id: str, revision: int, role: str = "editor", revoked: bool = False) -> KeyRecord:
    return KeyRecord(key_id, "t1", f"sha256:{key_id}", role, None, revoked, revision)


async def stored(engine: AsyncEngine, table: Table, events: list[KeyRecord]) -> tuple[object, ...]:
    async with engine.begin() as conn:
        for event in events:
            await conn.execute(upsert_key(table, event))
        row = (await conn.execute(select(table).where(table.c.key_id == events[0].key_id))).one()
    return (row.role, row.revoked, row.revision)


async def migrated(engine: AsyncEngine, schema: str) -> Table:
    await run_migrations(engine, schema, ROOT / Path(SERVICES[schema]))
    return TABLES[schema]


@pytest.mark.parametrize("schema", sorted(TABLES))
async def test_a_revoked_key_stays_revoked_in_every_order_and_replay(
    engine: AsyncEngine, schema: str
) -> None:
    table = await migrated(engine, schema)
    created, revoked = record("k", 1), record("k", 2, revoked=True)
    for n, order in enumerate(itertools.permutations([created, revoked, created])):
        key_id = f"k-{uuid.uuid4().hex[:8]}-{n}"
        events = [replace(e, key_id=key_id, key_hash=key_id) for e in order]
        assert await stored(engine, table, events) == ("editor", True, 2), order


@pytest.mark.parametrize("schema", sorted(TABLES))
async def test_the_newest_revision_decides_the_role_whatever_arrives_after_it(
    engine: AsyncEngine, schema: str
) -> None:
    table = await migrated(engine, schema)
    key_id = f"k-{uuid.uuid4().hex[:8]}"
    events = [record(key_id, 3, "viewer"), record(key_id, 1, "admin"), record(key_id, 2, "admin")]
    assert await stored(engine, table, events) == ("viewer", False, 3)
