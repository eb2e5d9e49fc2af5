"""SQL beside the intake path: API keys and tenants learned from goals.changes, and pruning
the dedup window (the claim itself is in kpi_ingest.claims, on raw asyncpg). Callers own the
transaction (kpi_common.db.unit_of_work)."""

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kpi_ingest.keys import KeyGrant
from kpi_ingest.models import api_keys, tenants

_PRUNE = text(
    "DELETE FROM ingest.seen_events WHERE ctid IN ("
    "SELECT ctid FROM ingest.seen_events WHERE seen_at < :before LIMIT :batch)"
)


async def prune_seen(conn: AsyncConnection, before: datetime, batch: int = 10_000) -> int:
    """Delete one batch of claims older than the horizon; returns how many went."""
    result = await conn.execute(_PRUNE, {"before": before, "batch": batch})
    return int(result.rowcount)


async def upsert_tenant(session: AsyncSession, tenant_id: str, slug: str) -> None:
    stmt = insert(tenants).values(tenant_id=tenant_id, slug=slug)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[tenants.c.tenant_id], set_={"slug": slug})
    )


async def get_key(session: AsyncSession, key_id: str) -> KeyGrant | None:
    row = (await session.execute(select(api_keys).where(api_keys.c.key_id == key_id))).first()
    return _grant(row) if row else None


async def save_key(session: AsyncSession, grant: KeyGrant) -> None:
    values = {
        "key_id": grant.key_id,
        "tenant_id": grant.tenant_id,
        "key_hash": grant.key_hash,
        "role": grant.role,
        "revoked": grant.revoked,
    }
    stmt = insert(api_keys).values(**values)
    update = {k: v for k, v in values.items() if k != "key_id"}
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[api_keys.c.key_id], set_={**update, "updated_at": text("now()")}
        )
    )


async def all_keys(conn: AsyncConnection) -> list[KeyGrant]:
    return [_grant(r) for r in await conn.execute(select(api_keys))]


def _grant(row: object) -> KeyGrant:
    m = row._mapping  # type: ignore[attr-defined]
    return KeyGrant(m["key_id"], m["tenant_id"], m["key_hash"], m["role"], m["revoked"])
