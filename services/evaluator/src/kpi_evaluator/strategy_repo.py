"""SQL of the evaluator's copy of the strategy, the tenants' API keys and consumer offsets."""

from collections.abc import Sequence
from dataclasses import dataclass

from kpi_common import apikeys
from kpi_common.apikeys import KeyRecord
from kpi_common.definitions import Definition, parse_definition
from kpi_common.logging import get_logger
from kpi_common.offsets import Offsets, OffsetTable, advance_offsets
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kpi_evaluator.models import api_keys

Executor = AsyncSession | AsyncConnection
log = get_logger(__name__)

CONTRACT = 2  # the `goals.changes` node contract the rows written now hold (v1 rows: 1)


@dataclass(frozen=True)
class NodeRow:
    tenant_id: str
    node_type: str
    node_id: str
    revision: int
    definition: Definition | None  # None: deleted (a tombstone with its revision)
    contract: int = CONTRACT

    @property
    def deleted(self) -> bool:
        return self.definition is None

    @property
    def version(self) -> tuple[int, int]:
        """What "newer" compares: a v2 at the revision of a stored v1 row replaces it."""
        return self.revision, self.contract

    def definition_json(self) -> str | None:
        return None if self.definition is None else self.definition.model_dump_json()


_UPSERT_NODES = text("""
INSERT INTO evaluator.nodes AS n
    (tenant_id, node_type, node_id, revision, contract, definition, deleted)
SELECT t, ty, i, r, c, CAST(d AS jsonb), d IS NULL
FROM unnest(CAST(:t AS text[]), CAST(:ty AS text[]), CAST(:i AS text[]), CAST(:r AS int[]),
            CAST(:c AS smallint[]), CAST(:d AS text[])) AS u(t, ty, i, r, c, d)
ON CONFLICT (tenant_id, node_type, node_id) DO UPDATE
SET revision = excluded.revision, contract = excluded.contract,
    definition = excluded.definition, deleted = excluded.deleted, updated_at = now()
WHERE (n.revision, n.contract) < (excluded.revision, excluded.contract)
RETURNING n.tenant_id
""")

_BUMP = text("""
INSERT INTO evaluator.tenants AS t (tenant_id, strategy_version)
SELECT unnest(CAST(:t AS text[])), 1
ON CONFLICT (tenant_id) DO UPDATE SET strategy_version = t.strategy_version + 1
""")


async def upsert_nodes(session: AsyncSession, rows: Sequence[NodeRow]) -> set[str]:
    """Apply only (revision, contract) newer than the stored one; returns the tenants that
    changed."""
    if not rows:
        return set()
    params = {
        "t": [r.tenant_id for r in rows],
        "ty": [r.node_type for r in rows],
        "i": [r.node_id for r in rows],
        "r": [r.revision for r in rows],
        "c": [r.contract for r in rows],
        "d": [r.definition_json() for r in rows],
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


async def upsert_key(session: AsyncSession, key: KeyRecord) -> None:
    """Store what an `apikey.upserted` says under the shared rule (kpi_common.apikeys)."""
    await session.execute(apikeys.upsert_key(api_keys, key))


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


async def load_nodes(conn: Executor, tenant_id: str) -> dict[tuple[str, str], Definition]:
    """The tenant's live nodes of the current contract, parsed. Rows of the v1 contract wait
    for the v2 goals republishes (docs/events.md); a row that no longer parses (it was
    checked when it arrived) is skipped with a warning rather than failing every read."""
    rows = await conn.execute(
        text("""SELECT node_type, node_id, definition FROM evaluator.nodes
                WHERE tenant_id = :t AND NOT deleted AND contract = :c"""),
        {"t": tenant_id, "c": CONTRACT},
    )
    out: dict[tuple[str, str], Definition] = {}
    for node_type, node_id, definition in rows:
        try:
            out[(str(node_type), str(node_id))] = parse_definition(definition)
        except ValidationError as exc:
            log.warning(
                "stored node does not parse", tenant=tenant_id, node=node_id, error=str(exc)
            )
    return out


OFFSETS = "evaluator.consumer_offsets"


def offsets_table(group_id: str) -> OffsetTable:
    return OffsetTable(OFFSETS, group_id)


async def save_offsets(session: AsyncSession, group_id: str, offsets: Offsets) -> None:
    """Advance the group's stored offsets, fenced (kpi_common.offsets): the first write of a
    batch's transaction; `OffsetsFenced` when another member stored them first."""
    await advance_offsets(session, offsets_table(group_id), offsets)
