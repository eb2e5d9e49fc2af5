"""SQL for the notifier's copy of the strategy, its API keys, consumer offsets, breaches,
silences and held reviews. The caller's unit of work commits."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kpi_common.apikeys import KeyRecord, upsert_key
from kpi_common.definitions import Definition, parse_definition
from kpi_common.offsets import OffsetTable
from sqlalchemy import Row, delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kpi_notifier.directory import NODE_TYPES, Directory, build_directory, parse_match
from kpi_notifier.models import api_keys, breaches, consumer_offsets, nodes, reviews_held, silences
from kpi_notifier.routing import Breach, Silence

CONTRACT = 2  # the `node.upserted` version the notifier reads
# both consumer groups' offsets (their topics are disjoint), advanced fenced (kpi_common.offsets)
OFFSETS = OffsetTable(consumer_offsets.fullname)


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    tenant_id: str
    role: str
    unit_scope: str | None
    revoked: bool


def breach_from_row(row: Row[Any]) -> Breach:
    return Breach(
        tenant_id=row.tenant_id,
        breach_id=row.breach_id,
        kpi_id=row.kpi_id,
        unit_id=row.unit_id,
        owner=row.owner,
        perspective=row.perspective,
        severity=row.severity,
        opened_at=row.opened_at,
        facts=row.facts,
        resolved_at=row.resolved_at,
        acked_at=row.acked_at,
        reminders_sent=row.reminders_sent,
        escalated_at=row.escalated_at,
        urgency=row.facts.get("urgency", "page"),
        restatement_id=row.facts.get("restatement_id"),
    )


def _silence_from_row(row: Row[Any]) -> Silence:
    return Silence(row.id, parse_match(row.matchers), row.ends_at, row.starts_at)


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert_node(
        self,
        tenant_id: str,
        node_type: str,
        node_id: str,
        revision: int,
        definition: Definition | None,
    ) -> None:
        """Store a node's definition (None: deleted) unless the stored (revision, contract) is
        as new: a v2 replaces the v1 row of the same revision. A tombstone is the same in
        both contracts and is stored as the current one."""
        values = {
            "tenant_id": tenant_id,
            "node_type": node_type,
            "node_id": node_id,
            "revision": revision,
            "contract": CONTRACT,
            "definition": None if definition is None else definition.model_dump(mode="json"),
            "deleted": definition is None,
        }
        stmt = insert(nodes).values(values)
        stored = tuple_(nodes.c.revision, nodes.c.contract)
        incoming = tuple_(stmt.excluded.revision, stmt.excluded.contract)
        stmt = stmt.on_conflict_do_update(
            index_elements=[nodes.c.tenant_id, nodes.c.node_type, nodes.c.node_id],
            set_={k: stmt.excluded[k] for k in ("revision", "contract", "definition", "deleted")},
            where=stored < incoming,
        )
        await self.session.execute(stmt)

    async def directory(self, tenant_id: str) -> Directory:
        """The tenant's directory from its live v2 nodes (v1 rows wait for their v2)."""
        rows = await self.session.execute(
            select(nodes.c.definition).where(
                nodes.c.tenant_id == tenant_id,
                nodes.c.node_type.in_(NODE_TYPES),
                nodes.c.deleted.is_(False),
                nodes.c.contract == CONTRACT,
            )
        )
        return build_directory(parse_definition(r.definition) for r in rows)

    async def tenants_with(self, node_type: str) -> list[str]:
        rows = await self.session.execute(
            select(nodes.c.tenant_id)
            .where(nodes.c.node_type == node_type, nodes.c.deleted.is_(False))
            .distinct()
        )
        return [r.tenant_id for r in rows]

    async def upsert_api_key(self, key: KeyRecord) -> None:
        """Store what an `apikey.upserted` says under the shared rule (kpi_common.apikeys)."""
        await self.session.execute(upsert_key(api_keys, key))

    async def api_key(self, key_hash: str) -> ApiKey | None:
        row = (
            await self.session.execute(select(api_keys).where(api_keys.c.key_hash == key_hash))
        ).first()
        if row is None:
            return None
        return ApiKey(row.key_id, row.tenant_id, row.role, row.unit_scope, row.revoked)

    async def add_breach(self, breach: Breach) -> bool:
        """Record an opened breach; False when it was already known."""
        stmt = insert(breaches).values(
            tenant_id=breach.tenant_id,
            breach_id=breach.breach_id,
            kpi_id=breach.kpi_id,
            unit_id=breach.unit_id,
            owner=breach.owner,
            perspective=breach.perspective,
            severity=breach.severity,
            facts=dict(breach.facts),
            opened_at=breach.opened_at,
            resolved_at=breach.resolved_at,
        )
        result = await self.session.execute(
            stmt.on_conflict_do_nothing().returning(breaches.c.breach_id)
        )
        return result.first() is not None

    async def resolve_breach(self, breach: Breach) -> None:
        """Mark a breach resolved (recording it first when its opening was never seen)."""
        await self.add_breach(breach)
        await self.session.execute(
            update(breaches)
            .where(
                breaches.c.tenant_id == breach.tenant_id, breaches.c.breach_id == breach.breach_id
            )
            .values(resolved_at=breach.resolved_at, facts=dict(breach.facts))
        )

    async def breach(self, tenant_id: str, breach_id: str) -> Breach | None:
        return next(iter(await self.breaches_of(tenant_id, [breach_id])), None)

    async def breaches_of(self, tenant_id: str, breach_ids: Sequence[str]) -> list[Breach]:
        """Those of the breaches the notifier knows, in no particular order."""
        c = breaches.c
        query = select(breaches).where(c.tenant_id == tenant_id, c.breach_id.in_(breach_ids))
        return [breach_from_row(row) for row in await self.session.execute(query)]

    async def open_breaches(self, tenant_id: str | None = None) -> list[Breach]:
        """Every open, unacknowledged breach of one tenant, or of every tenant (the reminder
        tick's work)."""
        query = select(breaches).where(
            breaches.c.resolved_at.is_(None), breaches.c.acked_at.is_(None)
        )
        if tenant_id is not None:
            query = query.where(breaches.c.tenant_id == tenant_id)
        rows = await self.session.execute(query.order_by(breaches.c.opened_at))
        return [breach_from_row(r) for r in rows]

    async def update_breach(self, tenant_id: str, breach_id: str, **values: Any) -> None:
        await self.session.execute(
            update(breaches)
            .where(breaches.c.tenant_id == tenant_id, breaches.c.breach_id == breach_id)
            .values(**values)
        )

    async def add_silence(self, tenant_id: str, silence: Mapping[str, Any]) -> None:
        await self.session.execute(insert(silences).values(tenant_id=tenant_id, **silence))

    async def silences(self, tenant_id: str) -> list[Row[Any]]:
        rows = await self.session.execute(
            select(silences).where(silences.c.tenant_id == tenant_id).order_by(silences.c.ends_at)
        )
        return list(rows)

    async def active_silences(self, tenant_id: str, now: datetime) -> list[Silence]:
        rows = await self.session.execute(
            select(silences).where(silences.c.tenant_id == tenant_id, silences.c.ends_at > now)
        )
        return [_silence_from_row(r) for r in rows]

    async def delete_silence(self, tenant_id: str, silence_id: str) -> bool:
        result = await self.session.execute(
            delete(silences)
            .where(silences.c.tenant_id == tenant_id, silences.c.id == silence_id)
            .returning(silences.c.id)
        )
        return result.first() is not None

    async def mark_review_held(
        self, tenant_id: str, review_id: str, due: date, now: datetime, by: str | None
    ) -> None:
        stmt = insert(reviews_held).values(
            tenant_id=tenant_id, review_id=review_id, due_date=due, held_at=now, recorded_by=by
        )
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def held_reviews(self, tenant_id: str) -> dict[str, set[date]]:
        rows = await self.session.execute(
            select(reviews_held.c.review_id, reviews_held.c.due_date).where(
                reviews_held.c.tenant_id == tenant_id
            )
        )
        out: dict[str, set[date]] = {}
        for r in rows:
            out.setdefault(r.review_id, set()).add(r.due_date)
        return out
