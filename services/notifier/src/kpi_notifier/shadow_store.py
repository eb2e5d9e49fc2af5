"""SQL for the shadow log: what shadow routes and transitions would have sent.

A row per dedup key (a repeated event records nothing twice), written in the same
transaction as whatever planned it; nothing reads it but `GET /v1/shadow`. Rows older than
the retention (`KPI_NOTIFIER_SHADOW_RETENTION_DAYS`) are deleted by the ticker.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kpi_notifier import metrics
from kpi_notifier.models import shadow_log as t
from kpi_notifier.planning import Planned
from kpi_notifier.shadow import reason


def _row(tenant_id: str, p: Planned, now: datetime) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "dedup_key": p.dedup_key,
        "kind": p.kind,
        "reason": reason(p.route),
        "route": p.route,
        "channel_kind": p.recipient.kind,
        "channel": p.recipient.channel,
        "recipient": p.recipient.to,
        "breach_id": p.breach_id,
        "context": p.context,
        "suppressed_by": p.suppressed_by,
        "recorded_at": now,
    }


class ShadowLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, tenant_id: str, planned: Sequence[Planned], now: datetime) -> int:
        """Record shadow deliveries; keys already recorded are left alone. Returns how many
        rows are new."""
        if not planned:
            return 0
        stmt = (
            insert(t)
            .values([_row(tenant_id, p, now) for p in planned])
            .on_conflict_do_nothing(index_elements=[t.c.tenant_id, t.c.dedup_key])
        )
        return len((await self.session.execute(stmt.returning(t.c.id))).all())

    async def listing(
        self,
        tenant_id: str,
        *,
        route: int | None = None,
        since: datetime | None = None,
        breach_id: str | None = None,
        kind: str | None = None,
        limit: int = 100,
    ) -> list[Row[Any]]:
        """A tenant's shadow log, newest first."""
        query = select(t).where(t.c.tenant_id == tenant_id)
        for column, value in ((t.c.route, route), (t.c.breach_id, breach_id), (t.c.kind, kind)):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(t.c.recorded_at >= since)
        rows = await self.session.execute(query.order_by(t.c.id.desc()).limit(limit))
        return list(rows)

    async def prune(self, before: datetime) -> int:
        """Delete every tenant's rows recorded before `before`; returns how many."""
        result = await self.session.execute(
            delete(t).where(t.c.recorded_at < before).returning(t.c.id)
        )
        return len(result.all())


async def set_aside(
    session: AsyncSession, tenant_id: str, planned: Sequence[Planned], now: datetime
) -> list[Planned]:
    """Record the shadow deliveries of `planned` in the shadow log; return the live ones."""
    shadows = [p for p in planned if p.mode == "shadow"]
    await ShadowLog(session).add(tenant_id, shadows, now)
    for p in shadows:
        metrics.SHADOWED.labels(p.kind).inc()
    return [p for p in planned if p.mode != "shadow"]
