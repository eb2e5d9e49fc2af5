"""SQL beside the intake path: API keys and tenants learned from goals.changes, and pruning
what is kept for a window (dedup claims, webhook signatures, listable rejects). The claim
itself is in kpi_ingest.claims, on raw asyncpg. Callers own the transaction
(kpi_common.db.unit_of_work)."""

from datetime import datetime

from kpi_common.apikeys import KeyRecord, upsert_key
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kpi_ingest.keys import KeyGrant
from kpi_ingest.models import api_keys, tenants

# What the background loop forgets, each table with the column its age is read from.
PRUNABLE = {
    "seen_events": "seen_at",
    "source_signatures": "seen_at",
    "source_rejects": "received_at",
}


async def prune(conn: AsyncConnection, table: str, before: datetime, batch: int = 10_000) -> int:
    """Delete one batch of `table`'s rows older than `before`; returns how many went."""
    column = PRUNABLE[table]
    stmt = text(
        f"DELETE FROM ingest.{table} WHERE ctid IN ("
        f"SELECT ctid FROM ingest.{table} WHERE {column} < :before LIMIT :batch)"
    )
    result = await conn.execute(stmt, {"before": before, "batch": batch})
    return int(result.rowcount)


async def upsert_tenant(session: AsyncSession, tenant_id: str, slug: str) -> None:
    stmt = insert(tenants).values(tenant_id=tenant_id, slug=slug)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[tenants.c.tenant_id], set_={"slug": slug})
    )


async def save_key(session: AsyncSession, key: KeyRecord) -> None:
    """Store what an `apikey.upserted` says under the shared rule (kpi_common.apikeys)."""
    await session.execute(upsert_key(api_keys, key))


async def all_keys(conn: AsyncConnection) -> list[KeyGrant]:
    return [_grant(r) for r in await conn.execute(select(api_keys))]


def _grant(row: object) -> KeyGrant:
    m = row._mapping  # type: ignore[attr-defined]
    return KeyGrant(m["key_id"], m["tenant_id"], m["key_hash"], m["role"], m["revoked"])
