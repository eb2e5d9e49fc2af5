"""SQL of sources: definitions, signatures already seen, and rejected payloads."""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kpi_ingest.models import source_rejects, source_signatures, sources
from kpi_ingest.sources.model import SourceDefinition


async def get_source(session: AsyncSession, source_id: str) -> tuple[str, SourceDefinition] | None:
    """(tenant_id, definition) of a source, whichever tenant owns it."""
    row = (await session.execute(select(sources).where(sources.c.source_id == source_id))).first()
    if row is None:
        return None
    return row.tenant_id, SourceDefinition.model_validate(row.definition)


async def put_source(
    session: AsyncSession, source_id: str, tenant_id: str, definition: SourceDefinition
) -> None:
    values = {
        "source_id": source_id,
        "tenant_id": tenant_id,
        "kind": definition.kind,
        "definition": definition.model_dump(mode="json"),
    }
    stmt = insert(sources).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[sources.c.source_id],
            set_={"kind": definition.kind, "definition": values["definition"]},
            where=sources.c.tenant_id == tenant_id,
        )
    )


async def claim_signature(
    session: AsyncSession, source_id: str, signature: str, now: datetime
) -> bool:
    """True when this signature was not seen before for the source."""
    stmt = (
        insert(source_signatures)
        .values(source_id=source_id, signature=signature[:200], seen_at=now)
        .on_conflict_do_nothing()
        .returning(source_signatures.c.signature)
    )
    return (await session.execute(stmt)).first() is not None


async def release_signature(session: AsyncSession, source_id: str, signature: str) -> None:
    t = source_signatures
    await session.execute(
        delete(t).where((t.c.source_id == source_id) & (t.c.signature == signature[:200]))
    )


async def add_rejects(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(source_rejects), rows)


async def list_rejects(session: AsyncSession, source_id: str, limit: int) -> list[dict[str, Any]]:
    t = source_rejects
    rows = await session.execute(
        select(t.c.id, t.c.reason, t.c.payload, t.c.received_at)
        .where(t.c.source_id == source_id)
        .order_by(t.c.id.desc())
        .limit(limit)
    )
    return [
        {"id": r.id, "reason": r.reason, "payload": r.payload, "received_at": r.received_at}
        for r in rows
    ]


_REJECT_SUMMARY = text("""
SELECT s.source_id, s.kind, coalesce(n.rejects, 0), last.reason, last.received_at
FROM ingest.sources s
LEFT JOIN LATERAL (SELECT count(*) AS rejects FROM ingest.source_rejects r
                   WHERE r.source_id = s.source_id) n ON true
LEFT JOIN LATERAL (SELECT reason, received_at FROM ingest.source_rejects r
                   WHERE r.source_id = s.source_id ORDER BY r.id DESC LIMIT 1) last ON true
WHERE s.tenant_id = :t
ORDER BY s.source_id
""")


async def reject_summary(session: AsyncSession, tenant_id: str) -> list[dict[str, Any]]:
    """Each source of the tenant with its rejects: how many, and the last one's reason and
    time (both read on the index by source)."""
    rows = await session.execute(_REJECT_SUMMARY, {"t": tenant_id})
    return [
        {
            "id": r[0],
            "kind": r[1],
            "rejects": int(r[2]),
            "last_reason": r[3],
            "last_received_at": r[4],
        }
        for r in rows
    ]


async def cdc_sources(session: AsyncSession) -> list[tuple[str, str, SourceDefinition]]:
    """(source_id, tenant_id, definition) of every Debezium source, of all tenants."""
    rows = await session.execute(select(sources).where(sources.c.kind == "debezium"))
    return [(r.source_id, r.tenant_id, SourceDefinition.model_validate(r.definition)) for r in rows]
