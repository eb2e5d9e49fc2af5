"""What the notifier does with each consumed event, in the consumer's one transaction:
keep its copy of the strategy and API keys, record breaches and plan their deliveries.
The batch's offsets are advanced first in the same transaction, fenced (kpi_common.offsets): a
batch another replica applied first is refused and rolls back whole."""

from collections.abc import Callable
from datetime import datetime, timedelta

from kpi_common.apikeys import key_record
from kpi_common.db import unit_of_work
from kpi_common.events import (
    ApiKeyUpserted,
    Envelope,
    KpiBreachOpened,
    KpiBreachResolved,
    KpiBurnRateFired,
    KpiBurnRateResolved,
    KpiStatusChanged,
    MessageDeadLettered,
    NodeDeleted,
    NodeUpserted,
    NodeUpsertedV2,
    encode,
    make_envelope,
)
from kpi_common.kafka import CONSUMER_DEAD_LETTERED, Message
from kpi_common.logging import get_logger
from kpi_common.offsets import Offsets, advance_offsets
from kpi_common.outbox import add_to_outbox
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_notifier import incident_flow, metrics
from kpi_notifier.burn_planning import as_breach, plan_burn
from kpi_notifier.config import SERVICE
from kpi_notifier.deliveries import Deliveries
from kpi_notifier.directory import NODE_TYPES, check
from kpi_notifier.models import outbox
from kpi_notifier.planning import Planned, plan_resolved, plan_restatement
from kpi_notifier.repository import OFFSETS, Repository
from kpi_notifier.routing import Breach
from kpi_notifier.scorecard_store import ScorecardStore
from kpi_notifier.shadow_store import set_aside

log = get_logger(__name__)


class UnusableDefinition(ValueError):
    """A `node.upserted` v2 the contract's models accept but the notifier cannot use (a
    duration, timezone or channel it does not understand): dead-lettered like a definition
    that does not parse."""


def is_poison(exc: Exception) -> bool:
    """An event that will fail the same way every time: bad data, or a Postgres data or
    integrity error (SQLSTATE class 22 or 23). Connection trouble is not."""
    if isinstance(exc, ValueError | TypeError | KeyError):
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    return isinstance(exc, DBAPIError) and sqlstate[:2] in ("22", "23")


def dead_letter(topic: str, message: Message, exc: Exception) -> tuple[str, str, Envelope]:
    data = MessageDeadLettered(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        reason=f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"[:2000],
        raw=encode(message.envelope).decode()[:100_000],
    )
    where = f"{message.topic}:{message.partition}:{message.offset}"
    env = make_envelope(
        id=where,
        tenant_id=message.envelope.tenant_id,
        producer=SERVICE,
        time=message.envelope.time,
        data=data,
    )
    return topic, f"{message.topic}:{message.partition}", env


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
        urgency=data.urgency,
        restatement_id=data.restatement_id,
    )


async def _node_upserted(repo: Repository, tenant_id: str, data: NodeUpsertedV2) -> None:
    """Store a definition the contract's models parsed (kpi_common's consumer dead-letters
    one that does not), once the notifier knows it can use it."""
    try:
        check(data.definition)
    except ValueError as exc:
        raise UnusableDefinition(f"{data.node_type} {data.node_id!r}: {exc}") from exc
    await repo.upsert_node(tenant_id, data.node_type, data.node_id, data.revision, data.definition)


async def record(
    session: AsyncSession, tenant_id: str, planned: list[Planned], now: datetime, delay: float = 0
) -> int:
    """Record planned deliveries (repeats of a dedup key change nothing; a restatement
    notice still waiting gathers the breaches of its run). A shadow one goes to the shadow
    log instead, never to be sent (shadow.py)."""
    due = now + timedelta(seconds=delay)
    deliveries = Deliveries(session)
    planned = await set_aside(session, tenant_id, planned, now)
    notices = [p for p in planned if p.kind == "restatement"]
    added = await deliveries.add(
        tenant_id, [p for p in planned if p.kind != "restatement"], now, due
    )
    added += await deliveries.gather(tenant_id, notices, now, due)
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
        dead_letter_topic: str = "consumers.dead-letter",
        restatement_window_s: float = 0,
        group_wait_s: float = 0,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._planned = planned
        self._delay = digest_window_s
        self._dlq = dead_letter_topic
        self._restatement_delay = restatement_window_s
        self._group_wait_s = group_wait_s

    async def __call__(self, messages: list[Message], offsets: Offsets) -> None:
        async with unit_of_work(self._sessions) as session:
            await advance_offsets(session, OFFSETS, offsets)
            for message in messages:
                await self._handle_one(session, message)
        self._planned()

    async def _handle_one(self, session: AsyncSession, message: Message) -> None:
        """Handle one event in a savepoint: an event that can never be applied (data the
        tables refuse) goes to the dead-letter topic, through the outbox, instead of
        stalling the consumer. Connection trouble still fails the batch, to be retried."""
        try:
            async with session.begin_nested():
                await self.handle(session, message)
        except Exception as exc:
            if not is_poison(exc):
                raise
            log.warning("event dead-lettered", id=message.envelope.id, error=str(exc)[:300])
            metrics.DEAD_LETTERED.inc()
            if isinstance(exc, UnusableDefinition):
                CONSUMER_DEAD_LETTERED.labels(SERVICE).inc()
            await add_to_outbox(session, outbox, [dead_letter(self._dlq, message, exc)])

    async def handle(self, session: AsyncSession, message: Message) -> None:
        env, data = message.envelope, message.data
        repo = Repository(session)
        if isinstance(data, NodeUpsertedV2) and data.node_type in NODE_TYPES:
            await _node_upserted(repo, env.tenant_id, data)
        elif isinstance(data, NodeUpserted):
            metrics.SUPERSEDED.inc()  # v1: its v2 (republished by goals) replaces it
        elif isinstance(data, NodeDeleted) and data.node_type in NODE_TYPES:
            await repo.upsert_node(env.tenant_id, data.node_type, data.node_id, data.revision, None)
        elif isinstance(data, ApiKeyUpserted):  # v1 or v2
            await repo.upsert_api_key(key_record(env.tenant_id, data))
        elif isinstance(data, KpiStatusChanged):
            facts = data.model_dump(mode="json")
            await ScorecardStore(session).record_status(
                env.tenant_id, data.kpi_id, facts, data.evaluated_at
            )
        elif isinstance(data, KpiBreachResolved):
            await self._resolved(repo, breach_from_event(env, data))
        elif isinstance(data, KpiBreachOpened):
            await self._opened(repo, breach_from_event(env, data))
        elif isinstance(data, KpiBurnRateFired | KpiBurnRateResolved):
            await self._burn(repo, env, data)

    async def _opened(self, repo: Repository, breach: Breach) -> None:
        if not await repo.add_breach(breach):
            return
        if not breach.pages:
            await self._restated(repo, breach, "opened")
            return
        now = self._clock()
        directory = await repo.directory(breach.tenant_id)
        silences = await repo.active_silences(breach.tenant_id, now)
        planned = await incident_flow.opened(
            repo.session, directory, breach, silences, now, self._group_wait_s
        )
        if planned is not None:  # None: it joined an incident, whose notices are planned
            await record(repo.session, breach.tenant_id, planned, now, self._delay)

    async def _resolved(self, repo: Repository, breach: Breach) -> None:
        now = self._clock()
        await repo.resolve_breach(breach)
        if not breach.pages:
            await self._restated(repo, breach, "resolved")
            return
        closing = await incident_flow.resolved(repo.session, breach, now)
        if closing is not None:  # a breach of an incident: the incident's notice, if any
            await record(repo.session, breach.tenant_id, closing, now)
            return
        directory = await repo.directory(breach.tenant_id)
        silences = await repo.active_silences(breach.tenant_id, now)
        await record(
            repo.session, breach.tenant_id, plan_resolved(directory, breach, silences, now), now
        )

    async def _burn(
        self, repo: Repository, env: Envelope, data: KpiBurnRateFired | KpiBurnRateResolved
    ) -> None:
        """A burn-rate transition: one notice per recipient; a shadow rule's none."""
        if data.mode == "shadow":
            log.info("shadow burn-rate alert not sent", alert_id=data.alert_id)
            return
        now = self._clock()
        event = "resolved" if isinstance(data, KpiBurnRateResolved) else "fired"
        alert = as_breach(env.tenant_id, env.data, data.fired_at)
        directory = await repo.directory(env.tenant_id)
        silences = await repo.active_silences(env.tenant_id, now)
        planned = plan_burn(directory, alert, event, silences, now)
        await record(repo.session, env.tenant_id, planned, now)

    async def _restated(self, repo: Repository, breach: Breach, event: str) -> None:
        """A breach of a period past the paging horizon joins its run's notice per route."""
        now = self._clock()
        directory = await repo.directory(breach.tenant_id)
        silences = await repo.active_silences(breach.tenant_id, now)
        planned = plan_restatement(directory, breach, event, silences, now)
        await record(repo.session, breach.tenant_id, planned, now, self._restatement_delay)
