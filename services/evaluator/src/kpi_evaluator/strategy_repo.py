"""SQL of the evaluator's copy of the strategy, the tenants' API keys and consumer offsets."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

Executor = AsyncSession | AsyncConnection


@dataclass(frozen=True)
class NodeRow:
    tenant_id: str
    node_type: str
    node_id: str
    revision: int
    definition: dict[str, Any] | None

    @property
    def deleted(self) -> bool:
        return self.definition is None


_UPSERT_NODES = text("""
INSERT INTO evaluator.nodes AS n (tenant_id, node_type, node_id, revision, definition, deleted)
SELECT t, ty, i, r, CAST(d AS jsonb), d IS NULL
FROM unnest(CAST(:t AS text[]), CAST(:ty AS text[]), CAST(:i AS text[]), CAST(:r AS int[]),
            CAST(:d AS text[])) AS u(t, ty, i, r, d)
ON CONFLICT (tenant_id, node_type, node_id) DO UPDATE
SET revision = excluded.revision, definition = excluded.definition,
    deleted = excluded.deleted, updated_at = now()
WHERE n.revision < excluded.revision
RETURNING n.tenant_id
""")

_BUMP = text("""
INSERT INTO evaluator.tenants AS t (tenant_id, strategy_version)
SELECT unnest(CAST(:t AS text[])), 1
ON CONFLICT (tenant_id) DO UPDATE SET strategy_version = t.strategy_version + 1
""")


async def upsert_nodes(session: AsyncSession, rows: Sequence[NodeRow]) -> set[str]:
    """Apply only revisions newer than the stored ones; returns the tenants that changed."""
    if not rows:
        return set()
    params = {
        "t": [r.tenant_id for r in rows],
        "ty": [r.node_type for r in rows],
        "i": [r.node_id for r in rows],
        "r": [r.revision for r in rows],
        "d": [None if r.deleted else orjson.dumps(r.definition).decode() for r in rows],
    }
    changed = {row[0] for row in (await session.execute(_UPSERT_NODES, params)).all()}
    if changed:
        await session.execute(_BUMP, {"t": sorted(changed)})
    return changed


async def upsert_tenant(session: AsyncSession, tenant_id: str, slug: str) -> None:
    await session.execute(
        text("""INSERT INTO evaluator.tenants (tenant_id, slug) VALUES (:t, :s)
                ON CONFLICT (tenant_id) DO UPDATE SET slug = excluded.slug"""),
        {"t": tenant_id, "s": slug},
    )


async def upsert_key(session: AsyncSession, tenant_id: str, data: dict[str, Any]) -> None:
    await session.execute(
        text("""INSERT INTO evaluator.api_keys
                  (key_id, tenant_id, key_hash, role, unit_scope, revoked)
                VALUES (:k, :t, :h, :r, :u, :x)
                ON CONFLICT (key_id) DO UPDATE SET key_hash = excluded.key_hash,
                  role = excluded.role, unit_scope = excluded.unit_scope,
                  revoked = api_keys.revoked OR excluded.revoked"""),
        {
            "k": data["key_id"],
            "t": tenant_id,
            "h": data["key_hash"],
            "r": data["role"],
            "u": data.get("unit_scope"),
            "x": bool(data.get("revoked", False)),
        },
    )


async def key_tenant(conn: Executor, key_hash: str) -> str | None:
    """The tenant of a key that is not revoked, or None."""
    row = (
        await conn.execute(
            text("SELECT tenant_id FROM evaluator.api_keys WHERE key_hash = :h AND NOT revoked"),
            {"h": key_hash},
        )
    ).first()
    return None if row is None else str(row[0])


async def key_role(conn: Executor, key_hash: str) -> str | None:
    """The role of a key that is not revoked, or None."""
    row = (
        await conn.execute(
            text("SELECT role FROM evaluator.api_keys WHERE key_hash = :h AND NOT revoked"),
            {"h": key_hash},
        )
    ).first()
    return None if row is None else str(row[0])


async def strategy_versions(conn: Executor, tenants: Sequence[str]) -> dict[str, int]:
    rows = await conn.execute(
        text("""SELECT tenant_id, strategy_version FROM evaluator.tenants
                WHERE tenant_id = ANY(CAST(:t AS text[]))"""),
        {"t": list(tenants)},
    )
    return {str(r[0]): int(r[1]) for r in rows}


async def all_tenants(conn: Executor) -> list[str]:
    rows = await conn.execute(
        text("SELECT tenant_id FROM evaluator.tenants WHERE strategy_version > 0")
    )
    return [str(r[0]) for r in rows]


async def load_nodes(conn: Executor, tenant_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    rows = await conn.execute(
        text("""SELECT node_type, node_id, definition FROM evaluator.nodes
                WHERE tenant_id = :t AND NOT deleted"""),
        {"t": tenant_id},
    )
    return {(str(r[0]), str(r[1])): dict(r[2]) for r in rows}


async def save_offsets(
    session: AsyncSession, group_id: str, offsets: dict[TopicPartition, int]
) -> None:
    if not offsets:
        return
    items = sorted(offsets.items(), key=lambda kv: (kv[0].topic, kv[0].partition))
    await session.execute(
        text("""INSERT INTO evaluator.consumer_offsets AS o
                  (group_id, topic, partition, next_offset)
                SELECT :g, t, p, n FROM unnest(CAST(:t AS text[]), CAST(:p AS int[]),
                                               CAST(:n AS bigint[])) AS u(t, p, n)
                ON CONFLICT (group_id, topic, partition) DO UPDATE
                SET next_offset = GREATEST(o.next_offset, excluded.next_offset)"""),
        {
            "g": group_id,
            "t": [tp.topic for tp, _ in items],
            "p": [tp.partition for tp, _ in items],
            "n": [n for _, n in items],
        },
    )


class PgOffsetStore:
    """Offsets of one consumer group, kept in Postgres beside the effects they cover."""

    def __init__(self, engine: AsyncEngine, group_id: str) -> None:
        self._engine = engine
        self.group_id = group_id

    async def load(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                text("""SELECT topic, partition, next_offset FROM evaluator.consumer_offsets
                        WHERE group_id = :g"""),
                {"g": self.group_id},
            )
            stored = {TopicPartition(r[0], r[1]): int(r[2]) for r in rows}
        return {tp: stored[tp] for tp in partitions if tp in stored}
