"""What the read-only views of shadow mode and the inbox answer, from the notifier's own
tables (it never reads another service's)."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from kpi_common.errors import NotFound
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_notifier.auth import Principal
from kpi_notifier.destinations import message_context
from kpi_notifier.directory import Directory
from kpi_notifier.inbox import InboxFacts, inbox
from kpi_notifier.messages import Messages
from kpi_notifier.repository import Repository
from kpi_notifier.scorecard_store import ScorecardStore
from kpi_notifier.shadow_store import ShadowLog

SHADOW_FIELDS = (
    "id", "dedup_key", "kind", "reason", "route", "channel", "channel_kind", "recipient",
    "breach_id", "suppressed_by", "recorded_at",
)  # fmt: skip


async def inbox_facts(session: AsyncSession, tenant_id: str, now: datetime) -> InboxFacts:
    """A tenant's facts for its inboxes, read in one session."""
    repo = Repository(session)
    return InboxFacts(
        directory=await repo.directory(tenant_id),
        now=now,
        breaches=await repo.open_breaches(tenant_id),
        held=await repo.held_reviews(tenant_id),
        statuses=await ScorecardStore(session).statuses(tenant_id),
    )


class Queries:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        messages: Messages,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._messages = messages

    async def shadow(self, who: Principal, **filters: Any) -> list[dict[str, Any]]:
        """The shadow log, newest first, each entry with the message it would have sent."""
        async with self._sessions() as session:
            rows = await ShadowLog(session).listing(who.tenant_id, **filters)
            directory = await Repository(session).directory(who.tenant_id)
        return [self._entry(directory, r) for r in rows]

    def _entry(self, directory: Directory, row: Row[Any]) -> dict[str, Any]:
        context = message_context(directory, row.context, row.channel, row.recipient)
        message = self._messages.render(context.get("kind", row.kind), context)
        entry = {f: getattr(row, f) for f in SHADOW_FIELDS}
        transition = row.context.get("breach") or row.context.get("alert")  # burn: "alert"
        return entry | {
            "transition": transition,
            "subject": message.subject,
            "text": message.text,
        }

    async def inbox(self, who: Principal, person: str) -> dict[str, Any]:
        """What `person` owes now; 404 for a person the tenant's strategy does not have."""
        async with self._sessions() as session:
            facts = await inbox_facts(session, who.tenant_id, self._clock())
        if person not in facts.directory.people:
            raise NotFound(f"person {person}")
        return inbox(facts, person)
