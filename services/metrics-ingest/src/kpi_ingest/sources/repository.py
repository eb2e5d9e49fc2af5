"""SQL of sources: definitions, signatures already seen, and rejected payloads."""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
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


async def cdc_sources(session: AsyncSession) -> list[tuple[str, str, SourceDefinition]]:
    """(source_id, tenant_id, definition) of every Debezium source, of all tenants."""
    rows = await session.execute(select(sources).where(sources.c.kind == "debezium"))
    return [(r.source_id, r.tenant_id, SourceDefinition.model_validate(r.definition)) for r in rows]
