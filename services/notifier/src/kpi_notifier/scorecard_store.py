"""SQL for the weekly scorecard digest: the latest status per KPI, and the subscriptions."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kpi_notifier.models import kpi_status, scorecard_subscriptions

subs = scorecard_subscriptions


class ScorecardStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_status(
        self, tenant_id: str, kpi_id: str, facts: Mapping[str, Any], evaluated_at: datetime
    ) -> None:
        """Keep a KPI's latest evaluation; an older one arriving late changes nothing."""
        values = {"tenant_id": tenant_id, "kpi_id": kpi_id, "facts": dict(facts)}
        stmt = insert(kpi_status).values(**values, evaluated_at=evaluated_at)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[kpi_status.c.tenant_id, kpi_status.c.kpi_id],
                set_={"facts": stmt.excluded.facts, "evaluated_at": stmt.excluded.evaluated_at},
                where=kpi_status.c.evaluated_at <= stmt.excluded.evaluated_at,
            )
        )

    async def statuses(self, tenant_id: str) -> dict[str, dict[str, Any]]:
        rows = await self.session.execute(
            select(kpi_status.c.kpi_id, kpi_status.c.facts).where(
                kpi_status.c.tenant_id == tenant_id
            )
        )
        return {r.kpi_id: r.facts for r in rows}

    async def subscribe(self, tenant_id: str, unit_id: str, now: datetime, by: str) -> None:
        stmt = insert(subs).values(
            tenant_id=tenant_id, unit_id=unit_id, created_at=now, created_by=by
        )
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def unsubscribe(self, tenant_id: str, unit_id: str) -> bool:
        result = await self.session.execute(
            delete(subs)
            .where(subs.c.tenant_id == tenant_id, subs.c.unit_id == unit_id)
            .returning(subs.c.unit_id)
        )
        return result.first() is not None

    async def subscriptions(self, tenant_id: str | None = None) -> list[tuple[str, str]]:
        """(tenant, unit) pairs, of one tenant or of all."""
        query = select(subs.c.tenant_id, subs.c.unit_id).order_by(subs.c.tenant_id, subs.c.unit_id)
        if tenant_id is not None:
            query = query.where(subs.c.tenant_id == tenant_id)
        return [(r.tenant_id, r.unit_id) for r in await self.session.execute(query)]
