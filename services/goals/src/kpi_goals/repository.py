"""The SQL of the goals service. Every query names its tenant; nothing here commits."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from kpi_common.errors import Conflict
from kpi_common.events import Envelope, NodeType
from kpi_common.outbox import add_to_outbox
from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kpi_goals.models import api_keys, contract_state, history, nodes, outbox, tenants
from kpi_goals.nodes import ORDER, Change, Key, Node, Stored


@dataclass(frozen=True)
class KeyRow:
    key_id: str
    tenant_id: UUID
    role: str
    unit_scope: str | None
    revoked: bool


@dataclass(frozen=True)
class HistoryRow:
    revision: int
    action: str
    definition: dict[str, Any] | None
    before: dict[str, Any] | None
    key_id: str | None
    reason: str | None
    changed_at: datetime


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create_tenant(self, tenant_id: UUID, slug: str, now: datetime) -> None:
        exists = await self.session.scalar(select(tenants.c.id).where(tenants.c.slug == slug))
        if exists is not None:
            raise Conflict(f"a tenant with slug {slug!r} exists")
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    tenants.insert().values(id=tenant_id, slug=slug, created_at=now)
                )
        except IntegrityError:
            raise Conflict(f"a tenant with slug {slug!r} exists") from None

    async def lock_tenant(self, tenant_id: UUID) -> None:
        """Serialise strategy applies of one tenant until the transaction ends."""
        await self.session.execute(
            select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update()
        )

    async def tenant_id(self, ref: str) -> UUID | None:
        """The tenant named by its id or its slug."""
        c = tenants.c
        try:
            where = c.id == UUID(ref)
        except ValueError:
            where = c.slug == ref
        found: UUID | None = await self.session.scalar(select(c.id).where(where))
        return found

    async def add_key(
        self, row: KeyRow, key_hash: str, name: str | None, now: datetime, created_by: str
    ) -> None:
        await self.session.execute(
            api_keys.insert().values(
                id=row.key_id,
                tenant_id=row.tenant_id,
                key_hash=key_hash,
                role=row.role,
                unit_scope=row.unit_scope,
                name=name,
                revoked=False,
                created_at=now,
                created_by=created_by,
            )
        )

    async def key_by_hash(self, key_hash: str) -> KeyRow | None:
        c = api_keys.c
        row = (
            await self.session.execute(
                select(c.id, c.tenant_id, c.role, c.unit_scope, c.revoked).where(
                    c.key_hash == key_hash
                )
            )
        ).first()
        return KeyRow(*row) if row is not None else None

    async def active_admins(self, tenant_id: UUID) -> list[str]:
        c = api_keys.c
        rows = await self.session.scalars(
            select(c.id).where(c.tenant_id == tenant_id, c.role == "admin", c.revoked.is_(False))
        )
        return list(rows)

    async def revoke_key(
        self, tenant_id: UUID, key_id: str, by: str, now: datetime
    ) -> tuple[KeyRow, str] | None:
        """Revoke a key; the first revocation's who and when are kept."""
        c = api_keys.c
        row = (
            await self.session.execute(
                update(api_keys)
                .where(c.tenant_id == tenant_id, c.id == key_id)
                .values(
                    revoked=True,
                    revoked_by=func.coalesce(c.revoked_by, by),
                    revoked_at=func.coalesce(c.revoked_at, now),
                )
                .returning(c.id, c.tenant_id, c.role, c.unit_scope, c.revoked, c.key_hash)
            )
        ).first()
        return (KeyRow(*row[:5]), row[5]) if row is not None else None

    async def list_keys(self, tenant_id: UUID) -> list[dict[str, Any]]:
        c = api_keys.c
        rows = await self.session.execute(
            select(
                c.id,
                c.role,
                c.unit_scope,
                c.name,
                c.revoked,
                c.created_at,
                c.created_by,
                c.revoked_at,
                c.revoked_by,
            )
            .where(c.tenant_id == tenant_id)
            .order_by(c.created_at, c.id)
        )
        return [
            {
                "key_id": r.id,
                "role": r.role,
                "unit_scope": r.unit_scope,
                "name": r.name,
                "revoked": r.revoked,
                "created_at": r.created_at.isoformat(),
                "created_by": r.created_by,
                "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
                "revoked_by": r.revoked_by,
            }
            for r in rows
        ]

    async def current(self, tenant_id: UUID) -> dict[Key, Stored]:
        """Every node of the tenant, tombstones included."""
        c = nodes.c
        rows = await self.session.execute(
            select(c.node_type, c.node_id, c.revision, c.definition).where(c.tenant_id == tenant_id)
        )
        return {(r.node_type, r.node_id): Stored(r.revision, r.definition) for r in rows}

    async def live(self, tenant_id: UUID) -> list[Node]:
        """The tenant's nodes in document order."""
        c = nodes.c
        rows = await self.session.execute(
            select(c.node_type, c.node_id, c.definition)
            .where(c.tenant_id == tenant_id, c.definition.is_not(None))
            .order_by(c.position, c.node_id)
        )
        found = [Node(cast(NodeType, r.node_type), r.node_id, r.definition) for r in rows]
        return sorted(found, key=lambda n: ORDER.index(n.node_type))

    async def page(
        self, tenant_id: UUID, node_type: str, after: str | None, limit: int
    ) -> list[tuple[str, int, dict[str, Any]]]:
        c = nodes.c
        query = select(c.node_id, c.revision, c.definition).where(
            c.tenant_id == tenant_id, c.node_type == node_type, c.definition.is_not(None)
        )
        if after is not None:
            query = query.where(c.node_id > after)
        rows = await self.session.execute(query.order_by(c.node_id).limit(limit))
        return [(r.node_id, r.revision, r.definition) for r in rows]

    async def get(
        self, tenant_id: UUID, node_type: str, node_id: str
    ) -> tuple[int, dict[str, Any]] | None:
        c = nodes.c
        row = (
            await self.session.execute(
                select(c.revision, c.definition).where(
                    c.tenant_id == tenant_id,
                    c.node_type == node_type,
                    c.node_id == node_id,
                    c.definition.is_not(None),
                )
            )
        ).first()
        return (row.revision, row.definition) if row is not None else None

    async def save(
        self,
        tenant_id: UUID,
        changes: Sequence[Change],
        positions: dict[Key, int],
        now: datetime,
    ) -> None:
        if not changes:
            return
        rows = [
            {
                "tenant_id": tenant_id,
                "node_type": ch.node_type,
                "node_id": ch.node_id,
                "revision": ch.revision,
                "definition": ch.definition,
                "position": positions.get(ch.key, 0),
                "updated_at": now,
            }
            for ch in changes
        ]
        stmt = insert(nodes)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[nodes.c.tenant_id, nodes.c.node_type, nodes.c.node_id],
                set_={
                    k: stmt.excluded[k]
                    for k in ("revision", "definition", "position", "updated_at")
                },
            ),
            rows,
        )

    async def add_history(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(history.insert(), rows)

    async def history(
        self, tenant_id: UUID, node_type: str, node_id: str, until: datetime | None = None
    ) -> list[HistoryRow]:
        c = history.c
        cond = and_(c.tenant_id == tenant_id, c.node_type == node_type, c.node_id == node_id)
        if until is not None:
            cond = and_(cond, c.changed_at <= until)
        rows = await self.session.execute(
            select(c.revision, c.action, c.definition, c.before, c.key_id, c.reason, c.changed_at)
            .where(cond)
            .order_by(c.revision)
        )
        return [HistoryRow(*r) for r in rows]

    async def histories(
        self, tenant_id: UUID, node_type: str, node_ids: Sequence[str]
    ) -> dict[str, list[HistoryRow]]:
        """`history` of several nodes in one statement, by node id (absent: no history)."""
        c = history.c
        columns = (c.revision, c.action, c.definition, c.before, c.key_id, c.reason, c.changed_at)
        rows = await self.session.execute(
            select(c.node_id, *columns)
            .where(c.tenant_id == tenant_id, c.node_type == node_type, c.node_id.in_(node_ids))
            .order_by(c.node_id, c.revision)
        )
        out: dict[str, list[HistoryRow]] = {}
        for node_id, *rest in rows:
            out.setdefault(node_id, []).append(HistoryRow(*rest))
        return out

    async def publish(self, items: Sequence[tuple[str, str, Envelope]]) -> None:
        """Queue events in this transaction; the relay sends them after commit."""
        await add_to_outbox(self.session, outbox, items)

    async def published_contract(self) -> int:
        """The contract version every node was last published in (row locked until commit)."""
        c = contract_state.c
        query = select(c.published_version).where(c.id == 1).with_for_update()
        return int(await self.session.scalar(query) or 1)

    async def set_published_contract(self, version: int) -> None:
        await self.session.execute(
            update(contract_state).where(contract_state.c.id == 1).values(published_version=version)
        )

    async def all_live(self) -> list[tuple[UUID, str, str, int, dict[str, Any]]]:
        """Every live node of every tenant: (tenant, type, id, revision, definition)."""
        c = nodes.c
        rows = await self.session.execute(
            select(c.tenant_id, c.node_type, c.node_id, c.revision, c.definition)
            .where(c.definition.is_not(None))
            .order_by(c.tenant_id, c.node_type, c.node_id)
        )
        return [(r.tenant_id, r.node_type, r.node_id, r.revision, r.definition) for r in rows]
