"""What the notifier does with each consumed event, in the consumer's one transaction:
keep its copy of the strategy and API keys, record breaches and plan their deliveries.
The batch's offsets are stored in the same transaction (kpi_common.kafka.OffsetStore)."""

from collections.abc import Callable
from datetime import datetime, timedelta

from aiokafka import TopicPartition
from kpi_common.db import unit_of_work
from kpi_common.events import (
    ApiKeyUpserted,
    Envelope,
    KpiBreachOpened,
    KpiBreachResolved,
    KpiStatusChanged,
    NodeDeleted,
    NodeUpserted,
    parse_data,
)
from kpi_common.kafka import Message
from kpi_common.logging import get_logger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_notifier import metrics
from kpi_notifier.deliveries import Deliveries
from kpi_notifier.directory import NODE_TYPES
from kpi_notifier.planning import Planned, plan_opened, plan_resolved
from kpi_notifier.repository import Repository
from kpi_notifier.routing import Breach
from kpi_notifier.scorecard_store import ScorecardStore

log = get_logger(__name__)


def breach_from_event(env: Envelope, data: KpiBreachOpened | KpiBreachResolved) -> Breach:
    return Breach(
        tenant_id=env.tenant_id,
        breach_id=data.breach_id,
        kpi_id=data.kpi_id,
        unit_id=data.unit_id,
        owner=data.owner,
        perspective=data.perspective,
        severity=data.severity,
        opened_at=data.opened_at,
        facts=env.data,
        resolved_at=data.resolved_at if isinstance(data, KpiBreachResolved) else None,
    )


async def record(
    session: AsyncSession, tenant_id: str, planned: list[Planned], now: datetime, delay: float = 0
) -> int:
    """Record planned deliveries (repeats of a dedup key change nothing)."""
    due = now + timedelta(seconds=delay)
    added = await Deliveries(session).add(tenant_id, planned, now, due)
    for p in planned:
        metrics.PLANNED.labels(p.kind, "suppressed" if p.suppressed_by else "pending").inc()
    return added


class EventHandler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        planned: Callable[[], None] = lambda: None,
        digest_window_s: float = 0,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._planned = planned
        self._delay = digest_window_s

    async def __call__(self, messages: list[Message], offsets: dict[TopicPartition, int]) -> None:
        async with unit_of_work(self._sessions) as session:
            for message in messages:
                await self.handle(session, message.envelope)
            await Repository(session).store_offsets(offsets)
        self._planned()

    async def handle(self, session: AsyncSession, env: Envelope) -> None:
        data = parse_data(env)
        repo = Repository(session)
        if isinstance(data, NodeUpserted) and data.node_type in NODE_TYPES:
            await repo.upsert_node(
                env.tenant_id, data.node_type, data.node_id, data.revision, data.definition
            )
        elif isinstance(data, NodeDeleted) and data.node_type in NODE_TYPES:
            await repo.upsert_node(env.tenant_id, data.node_type, data.node_id, data.revision, None)
        elif isinstance(data, ApiKeyUpserted):
            await repo.upsert_api_key(env.tenant_id, data.model_dump())
        elif isinstance(data, KpiStatusChanged):
            facts = data.model_dump(mode="json")
            await ScorecardStore(session).record_status(
                env.tenant_id, data.kpi_id, facts, data.evaluated_at
            )
        elif isinstance(data, KpiBreachResolved):
            await self._resolved(repo, breach_from_event(env, data))
        elif isinstance(data, KpiBreachOpened):
            await self._opened(repo, breach_from_event(env, data))

    async def _opened(self, repo: Repository, breach: Breach) -> None:
        if not await repo.add_breach(breach):
            return
        now = self._clock()
        directory = await repo.directory(breach.tenant_id)
        silences = await repo.active_silences(breach.tenant_id, now)
        planned = plan_opened(directory, breach, silences, now)
        await record(repo.session, breach.tenant_id, planned, now, self._delay)

    async def _resolved(self, repo: Repository, breach: Breach) -> None:
        now = self._clock()
        await repo.resolve_breach(breach)
        directory = await repo.directory(breach.tenant_id)
        silences = await repo.active_silences(breach.tenant_id, now)
        await record(
            repo.session, breach.tenant_id, plan_resolved(directory, breach, silences, now), now
        )
