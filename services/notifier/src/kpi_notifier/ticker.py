"""Time-driven work in one function of the (injected) clock: reminders for open,
unacknowledged breaches, escalation past a route's `escalate_after`, review reminders, the
weekly scorecard and inbox digests, and trimming the shadow log to its retention.
Runs every KPI_NOTIFIER_TICK_INTERVAL_S; tests call `tick()` after moving their clock."""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from kpi_common.db import unit_of_work
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_notifier import incident_flow
from kpi_notifier.directory import Directory, parse_duration
from kpi_notifier.handlers import record
from kpi_notifier.inbox import digest_week, inbox, plan_inbox_digest
from kpi_notifier.planning import escalation_due, plan_escalation, plan_reminder, reminder_due
from kpi_notifier.queries import inbox_facts
from kpi_notifier.repository import Repository
from kpi_notifier.reviews import notice_due, plan_review
from kpi_notifier.routing import Breach, Silence
from kpi_notifier.scorecard_store import ScorecardStore
from kpi_notifier.scorecards import plan_scorecard, week_due
from kpi_notifier.shadow_store import ShadowLog


class Ticker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        reminder_interval: str,
        interval_s: float,
        planned: Callable[[], None] = lambda: None,
        *,
        shadow_retention_days: float = 30,
        inbox_digest: bool = False,
    ) -> None:
        self._sessions = sessions
        self._shadow_retention = timedelta(days=shadow_retention_days)
        self._inbox_digest = inbox_digest
        self._clock = clock
        self._reminder_every = parse_duration(reminder_interval)
        self._interval_s = interval_s
        self._planned = planned
        self._seen: dict[str, tuple[Directory, list[Silence]]] = {}

    async def run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(self._interval_s)

    async def tick(self) -> int:
        """Plan everything due at the clock's now; returns how many deliveries are new."""
        now = self._clock()
        self._seen = {}
        async with unit_of_work(self._sessions) as session:
            repo = Repository(session)
            added = 0
            for breach in await repo.open_breaches():
                added += await self._breach(repo, breach, now)
            for tenant_id in await repo.tenants_with("review"):
                added += await self._reviews(repo, tenant_id, now)
            for tenant_id, unit_id in await ScorecardStore(session).subscriptions():
                added += await self._scorecard(repo, tenant_id, unit_id, now)
            if self._inbox_digest:
                added += await self._inbox_digests(repo, now)
            await ShadowLog(session).prune(now - self._shadow_retention)
        self._planned()
        return added

    async def _context(
        self, repo: Repository, tenant_id: str, now: datetime
    ) -> tuple[Directory, list[Silence]]:
        """A tenant's directory and silences, read once per tick."""
        if tenant_id not in self._seen:
            silences = await repo.active_silences(tenant_id, now)
            self._seen[tenant_id] = (await repo.directory(tenant_id), silences)
        return self._seen[tenant_id]

    async def _breach(self, repo: Repository, breach: Breach, now: datetime) -> int:
        directory, silences = await self._context(repo, breach.tenant_id, now)
        added = 0
        n = reminder_due(breach, self._reminder_every, now)
        if n is not None:
            planned = plan_reminder(directory, breach, n, silences, now)
            planned = await incident_flow.scoped(repo.session, breach, f"reminder{n}", planned)
            added += await record(repo.session, breach.tenant_id, planned, now)
            await repo.update_breach(breach.tenant_id, breach.breach_id, reminders_sent=n)
        if escalation_due(directory, breach, now):
            planned = plan_escalation(directory, breach, silences, now)
            planned = await incident_flow.scoped(repo.session, breach, "escalation", planned)
            added += await record(repo.session, breach.tenant_id, planned, now)
            await repo.update_breach(breach.tenant_id, breach.breach_id, escalated_at=now)
        return added

    async def _scorecard(
        self, repo: Repository, tenant_id: str, unit_id: str, now: datetime
    ) -> int:
        directory, _ = await self._context(repo, tenant_id, now)
        week = week_due(now, directory.timezone)
        if week is None:
            return 0
        statuses = await ScorecardStore(repo.session).statuses(tenant_id)
        planned = plan_scorecard(directory, unit_id, week, statuses)
        return await record(repo.session, tenant_id, planned, now)

    async def _inbox_digests(self, repo: Repository, now: datetime) -> int:
        """Each person's weekly inbox digest, once per ISO week on Monday, when their inbox
        is not empty (kpi_notifier.inbox: the same computation as `GET /v1/inbox`)."""
        added = 0
        for tenant_id in await repo.tenants_with("person"):
            facts = await inbox_facts(repo.session, tenant_id, now)
            week = digest_week(now, facts.directory.timezone)
            if week is None:
                continue
            for person in sorted(facts.directory.people):
                planned = plan_inbox_digest(person, week, inbox(facts, person))
                added += await record(repo.session, tenant_id, planned, now)
        return added

    async def _reviews(self, repo: Repository, tenant_id: str, now: datetime) -> int:
        directory, _ = await self._context(repo, tenant_id, now)
        held = await repo.held_reviews(tenant_id)
        added = 0
        for review in directory.reviews.values():
            notice = notice_due(review, held.get(review.id, set()), now, directory.timezone)
            if notice is not None:
                planned = plan_review(directory, review, notice)
                added += await record(repo.session, tenant_id, planned, now)
        return added
