"""What the incident endpoints do (`GET /v1/incidents`, `GET /v1/incidents/{id}`,
`POST /v1/incidents/{id}/ack`), each in one unit of work."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from kpi_common.db import unit_of_work
from kpi_common.errors import NotFound
from kpi_common.logging import get_logger
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_notifier.auth import Principal
from kpi_notifier.directory import Directory
from kpi_notifier.incidents import summary
from kpi_notifier.incidents_repo import Incidents, IncidentState
from kpi_notifier.repository import Repository

log = get_logger(__name__)


def state_of(row: Row[Any]) -> IncidentState:
    if row.resolved_at is not None:
        return "resolved"
    return "acked" if row.acked_at is not None else "open"


async def describe(session: AsyncSession, directory: Directory, row: Row[Any]) -> dict[str, Any]:
    """An incident as the API shows it: its state, its breaches as causes and parents."""
    members = await Incidents(session).members(row.tenant_id, row.incident_id)
    kpi = directory.kpis.get(row.group_key)
    return {
        "incident_id": row.incident_id,
        "group_key": row.group_key,
        "title": kpi.title if kpi is not None else row.group_key,
        "state": state_of(row),
        "opened_at": row.opened_at,
        "resolved_at": row.resolved_at,
        "acked_at": row.acked_at,
        "acked_by": row.acked_by,
        "breach_ids": [m.breach_id for m in members],
        **summary(directory, members),
    }


class IncidentCommands:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    async def listing(
        self, who: Principal, state: IncidentState | None, limit: int
    ) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            directory = await Repository(session).directory(who.tenant_id)
            rows = await Incidents(session).listing(who.tenant_id, state, limit)
            return [await describe(session, directory, r) for r in rows]

    async def get(self, who: Principal, incident_id: str) -> dict[str, Any]:
        async with self._sessions() as session:
            row = await Incidents(session).get(who.tenant_id, incident_id)
            if row is None:
                raise NotFound(f"incident {incident_id}")
            directory = await Repository(session).directory(who.tenant_id)
            return await describe(session, directory, row)

    async def ack(self, who: Principal, incident_id: str) -> dict[str, Any]:
        """Acknowledge an incident and its breaches: no more reminders or escalation for
        any of them. A scoped editor must hold every breach's unit. Acking twice keeps the
        first ack."""
        who.require_write()
        now = self._clock()
        async with unit_of_work(self._sessions) as session:
            store = Incidents(session)
            row = await store.get(who.tenant_id, incident_id)
            if row is None:
                raise NotFound(f"incident {incident_id}")
            members = await store.members(who.tenant_id, incident_id)
            directory = await Repository(session).directory(who.tenant_id)
            who.require_units(directory, [m.unit_id for m in members])
            await store.ack(who.tenant_id, incident_id, now, who.key_id)
        ids = [m.breach_id for m in members]
        if row.acked_at is not None:
            return {"incident_id": incident_id, "acked_at": row.acked_at, "acked_by": None,
                    "breach_ids": ids}  # fmt: skip
        log.info("incident acknowledged", incident_id=incident_id, by=who.key_id)
        return {"incident_id": incident_id, "acked_at": now, "acked_by": who.key_id,
                "breach_ids": ids}  # fmt: skip
