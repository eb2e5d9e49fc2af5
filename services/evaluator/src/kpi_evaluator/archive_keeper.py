"""Keeps the archive's partitions: admits a batch's events (expired ones are set aside),
creates the months they need, and, every `KPI_EVALUATOR_ARCHIVE_PRUNE_INTERVAL_S`, creates
the current and next month ahead and drops the partitions past the retention."""

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from kpi_common.db import unit_of_work
from kpi_common.logging import get_logger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_evaluator import archive_repo, arrivals_repo, recompute_repo, status_repo
from kpi_evaluator.archive import Month, expired, horizon, months_of
from kpi_evaluator.folding import Observation
from kpi_evaluator.metrics import ARCHIVE_DROPPED, EXPIRED

log = get_logger(__name__)
JOBS_KEPT = timedelta(days=30)


class ArchiveKeeper:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        retention_months: int,
        interval_s: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._retention = retention_months
        self._interval_s = interval_s
        self._clock = clock
        self._known: set[Month] = set()

    def admit(self, observations: Sequence[Observation], now: datetime) -> list[Observation]:
        """The observations that still count: event time at or after the horizon."""
        oldest = horizon(now, self._retention).start
        kept = [o for o in observations if o.time >= oldest]
        if len(kept) < len(observations):
            late = len(observations) - len(kept)
            EXPIRED.inc(late)
            log.warning("events before the archive horizon not counted", events=late)
        return kept

    async def ensure(self, observations: Sequence[Observation]) -> None:
        """Create the partitions the observations need (in their own transaction)."""
        missing = months_of(o.time for o in observations) - self._known
        if missing:
            async with unit_of_work(self._sessions) as session:
                await archive_repo.create_partitions(session, missing)
            self._known |= missing

    async def prune_once(self) -> list[str]:
        """Create this month and the next; drop the partitions past the retention (and
        forget the metric names that arrived last before it, and the revisions made before
        it)."""
        now = self._clock()
        ahead = {Month.of(now), Month.of(now).plus(1)}
        async with unit_of_work(self._sessions) as session:
            await archive_repo.create_partitions(session, ahead)
            dropped = expired(await archive_repo.partitions(session), horizon(now, self._retention))
            await archive_repo.drop_partitions(session, dropped)
            await recompute_repo.prune(session, now - JOBS_KEPT)
            oldest = horizon(now, self._retention).start
            await arrivals_repo.prune(session, oldest)
            await status_repo.prune_revisions(session, oldest)
        self._known = (self._known | ahead) - {m for p in dropped if (m := Month.parse(p))}
        if dropped:
            ARCHIVE_DROPPED.inc(len(dropped))
            log.info("archive partitions dropped", partitions=dropped)
        return dropped

    async def run(self) -> None:
        while True:
            await self.prune_once()
            await asyncio.sleep(self._interval_s)
