"""SQL for incidents: the open incident of a group key, its members, acks, and the delivery
rows that carry its notifications. The caller's unit of work commits."""

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kpi_notifier.models import breaches, deliveries, incident_breaches, incidents
from kpi_notifier.repository import breach_from_row
from kpi_notifier.routing import Breach, Recipient

IncidentState = Literal["open", "acked", "resolved"]


class Incidents:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, tenant_id: str, group_key: str) -> None:
        """Serialise, until commit, whoever opens or joins this group's incident (two
        replicas consuming two partitions must not open two)."""
        key = func.hashtextextended(literal(f"{tenant_id}:{group_key}"), 0)
        await self.session.execute(select(func.pg_advisory_xact_lock(key)))

    async def open_for(self, tenant_id: str, group_key: str) -> Row[Any] | None:
        query = select(incidents).where(
            incidents.c.tenant_id == tenant_id,
            incidents.c.group_key == group_key,
            incidents.c.resolved_at.is_(None),
        )
        return (await self.session.execute(query)).first()

    async def create(self, tenant_id: str, incident_id: str, group_key: str, now: datetime) -> None:
        await self.session.execute(
            insert(incidents).values(
                tenant_id=tenant_id, incident_id=incident_id, group_key=group_key, opened_at=now
            )
        )

    async def join(self, tenant_id: str, incident_id: str, breach_id: str, now: datetime) -> None:
        stmt = insert(incident_breaches).values(
            tenant_id=tenant_id, incident_id=incident_id, breach_id=breach_id, joined_at=now
        )
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def get(self, tenant_id: str, incident_id: str) -> Row[Any] | None:
        query = select(incidents).where(
            incidents.c.tenant_id == tenant_id, incidents.c.incident_id == incident_id
        )
        return (await self.session.execute(query)).first()

    async def incident_of(self, tenant_id: str, breach_id: str) -> Row[Any] | None:
        """The incident a breach belongs to, if any."""
        query = (
            select(incidents)
            .join(
                incident_breaches,
                (incident_breaches.c.tenant_id == incidents.c.tenant_id)
                & (incident_breaches.c.incident_id == incidents.c.incident_id),
            )
            .where(
                incident_breaches.c.tenant_id == tenant_id,
                incident_breaches.c.breach_id == breach_id,
            )
        )
        return (await self.session.execute(query)).first()

    async def members(self, tenant_id: str, incident_id: str) -> list[Breach]:
        """The incident's breaches, in the order they joined."""
        query = (
            select(breaches)
            .join(
                incident_breaches,
                (incident_breaches.c.tenant_id == breaches.c.tenant_id)
                & (incident_breaches.c.breach_id == breaches.c.breach_id),
            )
            .where(
                incident_breaches.c.tenant_id == tenant_id,
                incident_breaches.c.incident_id == incident_id,
            )
            .order_by(incident_breaches.c.joined_at, breaches.c.breach_id)
        )
        return [breach_from_row(r) for r in await self.session.execute(query)]

    async def open_breaches(self, tenant_id: str) -> list[Breach]:
        """A tenant's unresolved breaches: the sources an inhibition rule may find."""
        query = select(breaches).where(
            breaches.c.tenant_id == tenant_id, breaches.c.resolved_at.is_(None)
        )
        return [breach_from_row(r) for r in await self.session.execute(query)]

    async def ack(self, tenant_id: str, incident_id: str, now: datetime, by: str | None) -> None:
        """Acknowledge the incident and each of its breaches not acknowledged yet (the
        first ack of each is kept)."""
        await self.session.execute(
            update(incidents)
            .where(incidents.c.tenant_id == tenant_id, incidents.c.incident_id == incident_id)
            .where(incidents.c.acked_at.is_(None))
            .values(acked_at=now, acked_by=by)
        )
        ids = select(incident_breaches.c.breach_id).where(
            incident_breaches.c.tenant_id == tenant_id,
            incident_breaches.c.incident_id == incident_id,
        )
        await self.session.execute(
            update(breaches)
            .where(breaches.c.tenant_id == tenant_id, breaches.c.breach_id.in_(ids))
            .where(breaches.c.acked_at.is_(None))
            .values(acked_at=now, acked_by=by)
        )

    async def resolve(self, tenant_id: str, incident_id: str, now: datetime) -> None:
        await self.session.execute(
            update(incidents)
            .where(incidents.c.tenant_id == tenant_id, incidents.c.incident_id == incident_id)
            .values(resolved_at=now)
        )

    async def listing(
        self, tenant_id: str, state: IncidentState | None, limit: int
    ) -> list[Row[Any]]:
        query = select(incidents).where(incidents.c.tenant_id == tenant_id)
        if state == "resolved":
            query = query.where(incidents.c.resolved_at.is_not(None))
        elif state is not None:
            acked = incidents.c.acked_at.is_not(None)
            query = query.where(
                incidents.c.resolved_at.is_(None), acked if state == "acked" else ~acked
            )
        query = query.order_by(incidents.c.opened_at.desc()).limit(limit)
        return list(await self.session.execute(query))

    def _rows_of(self, tenant_id: str, incident_id: str, recipient: Recipient) -> Any:
        return (
            (deliveries.c.tenant_id == tenant_id)
            & deliveries.c.dedup_key.startswith(f"incident:{incident_id}:", autoescape=True)
            & (deliveries.c.channel == recipient.channel)
            & (deliveries.c.recipient == recipient.to)
            & deliveries.c.kind.in_(("incident", "incident_update"))
        )

    async def gather(
        self, tenant_id: str, incident_id: str, recipient: Recipient, breach_id: str
    ) -> bool:
        """Add a breach to the recipient's notification of the incident that still waits;
        False when none waits."""
        merged = deliveries.c.context.op("||")(
            func.jsonb_build_object(
                text("'breaches'"),
                deliveries.c.context["breaches"].op("||")(func.jsonb_build_array(breach_id)),
            )
        )
        result = await self.session.execute(
            update(deliveries)
            .where(self._rows_of(tenant_id, incident_id, recipient))
            .where(deliveries.c.status == "pending")
            .values(context=merged)
            .returning(deliveries.c.id)
        )
        return bool(result.all())

    async def notified(self, tenant_id: str, incident_id: str, recipient: Recipient) -> bool:
        """Whether the recipient has a notification of the incident already."""
        query = select(deliveries.c.id).where(self._rows_of(tenant_id, incident_id, recipient))
        return (await self.session.execute(query.limit(1))).first() is not None

    async def recipients(self, tenant_id: str, incident_id: str) -> list[Recipient]:
        """Everyone the incident's notifications went (or go) to, in the order first told."""
        query = (
            select(deliveries.c.channel_kind, deliveries.c.channel, deliveries.c.recipient)
            .where(deliveries.c.tenant_id == tenant_id)
            .where(deliveries.c.dedup_key.startswith(f"incident:{incident_id}:", autoescape=True))
            .where(deliveries.c.kind == "incident")
            .order_by(deliveries.c.id)
        )
        rows = await self.session.execute(query)
        return [Recipient(kind=r.channel_kind, to=r.recipient, channel=r.channel) for r in rows]
