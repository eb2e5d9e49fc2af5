"""The intake handler: claim ids, produce, and answer only after Kafka acknowledged.

Exact semantics (see docs/ingest.md, "Delivery and idempotency"):
one Postgres transaction per request claims the request's new ids with a single
`INSERT ... ON CONFLICT DO NOTHING RETURNING`, then the claimed events are produced and
awaited (idempotent producer, acks=all), and only then the claims commit and 202 is answered.
If producing fails the transaction rolls back, so the ids stay unclaimed and a retry can
succeed; the answer is 503 with Retry-After. A concurrent request carrying the same id (any
replica) waits on the uncommitted claim and then sees it as a duplicate, or claims it if the
first request rolled back."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka.errors import KafkaError
from kpi_common.db import unit_of_work
from kpi_common.errors import Unavailable
from kpi_common.kafka import Outgoing, publish
from kpi_common.logging import get_logger
from kpi_common.runtime import ProducerHandle
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_ingest import metrics, repository
from kpi_ingest.envelopes import observed
from kpi_ingest.events import Event, Rejection, first_occurrences
from kpi_ingest.gate import KafkaGate

log = get_logger(__name__)
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Outcome:
    accepted: int
    duplicates: int
    rejected: list[Rejection]

    def body(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [r.as_dict() for r in self.rejected],
        }


class Intake:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        kafka: ProducerHandle,
        gate: KafkaGate,
        topic: str,
        clock: Clock = utcnow,
    ) -> None:
        self._sessions = sessions
        self._kafka = kafka
        self._gate = gate
        self._topic = topic
        self._clock = clock

    async def accept(
        self,
        tenant_id: str,
        source: str,
        events: list[Event],
        rejected: list[Rejection],
        *,
        source_id: str = "api",
    ) -> Outcome:
        unique, repeats = first_occurrences(events)
        fresh = await self._claim_and_produce(tenant_id, source_id, unique) if unique else []
        outcome = Outcome(len(fresh), repeats + len(unique) - len(fresh), rejected)
        metrics.count(source, outcome.accepted, outcome.duplicates, len(rejected))
        return outcome

    async def _claim_and_produce(
        self, tenant_id: str, source_id: str, events: list[Event]
    ) -> list[Event]:
        self._check_kafka()
        try:
            return await self._in_transaction(tenant_id, source_id, events)
        except DBAPIError as exc:  # Postgres unreachable, deadlock, ...: nothing was committed
            log.warning("claim transaction failed; rolled back", error=str(exc)[:200])
            raise Unavailable("the database is unavailable; retry later") from None

    async def _in_transaction(
        self, tenant_id: str, source_id: str, events: list[Event]
    ) -> list[Event]:
        now = self._clock()
        async with unit_of_work(self._sessions) as session:
            claimed = await repository.claim_ids(session, tenant_id, [e.id for e in events], now)
            fresh = [e for e in events if e.id in claimed]
            messages = observed(
                fresh,
                tenant_id=tenant_id,
                source_id=source_id,
                received_at=now,
                topic=self._topic,
            )
            await self._produce(messages)
        return fresh

    def _check_kafka(self) -> None:
        _ = self._kafka.producer  # raises Unavailable until the first connection
        if not self._gate.is_open(time.monotonic()):
            raise Unavailable("Kafka is unavailable; retry later", self._gate.retry_after_s)

    async def _produce(self, messages: list[Outgoing]) -> None:
        if not messages:
            return
        start = time.perf_counter()
        try:
            await publish(self._kafka.producer, messages)
        except (TimeoutError, KafkaError, OSError) as exc:
            self._gate.close(time.monotonic())
            metrics.PRODUCE_FAILURES.inc()
            log.warning("produce failed; claims rolled back", error=str(exc)[:200])
            raise Unavailable(
                "Kafka did not acknowledge; retry later", self._gate.retry_after_s
            ) from exc
        metrics.PRODUCE_SECONDS.observe(time.perf_counter() - start)


async def probe_kafka(kafka: ProducerHandle, gate: KafkaGate, every_s: float) -> None:
    """Open the gate while the broker answers, close it while it does not."""
    await kafka.connected.wait()
    while True:
        if await kafka.reachable():
            gate.open()
        else:
            gate.close(time.monotonic())
        await asyncio.sleep(every_s)


async def prune_loop(
    sessions: async_sessionmaker[AsyncSession],
    horizon: timedelta,
    every_s: float,
    clock: Clock = utcnow,
) -> None:
    """Forget claims older than the dedup horizon, in batches."""
    while True:
        await asyncio.sleep(every_s)
        await prune_once(sessions, clock() - horizon)


async def prune_once(sessions: async_sessionmaker[AsyncSession], before: datetime) -> int:
    total = 0
    while True:
        async with unit_of_work(sessions) as session:
            conn = await session.connection()
            n = await repository.prune_seen(conn, before)
        total += n
        metrics.DEDUP_PRUNED.inc(n)
        if n == 0:
            return total
