"""The intake handler: claim ids, produce, and answer only after Kafka acknowledged.

Exact semantics (see docs/ingest.md, "Delivery and idempotency"):
one Postgres transaction claims the new ids with a single `INSERT ... ON CONFLICT DO NOTHING
RETURNING`, then the claimed events are produced and awaited (idempotent producer,
acks=all), and only then the claims commit and 202 is answered. Requests that arrive while
others are in flight are settled together (one transaction and one produce for the group;
workers run in parallel), so under load the round trips are shared.
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
from kpi_common.db import DATABASE_ERRORS, unit_of_work
from kpi_common.errors import Unavailable
from kpi_common.kafka import Encoded, publish
from kpi_common.logging import get_logger
from kpi_common.runtime import ProducerHandle
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_ingest import metrics, repository
from kpi_ingest.claims import ClaimPool, claim_pairs
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


@dataclass(frozen=True)
class Claim:
    """One request's events (unique ids) waiting to be claimed and produced."""

    tenant_id: str
    source_id: str
    events: list[Event]


def owners(claims: list[Claim]) -> dict[tuple[str, str], int]:
    """Which request of a group owns each (tenant, id): the first that carries it. Later
    requests of the same group see the id as a duplicate, as if they had come after."""
    owned: dict[tuple[str, str], int] = {}
    for n, claim in enumerate(claims):
        for event in claim.events:
            owned.setdefault((claim.tenant_id, event.id), n)
    return owned


class Intake:
    def __init__(
        self,
        *,
        claims: ClaimPool,
        kafka: ProducerHandle,
        gate: KafkaGate,
        topic: str,
        clock: Clock = utcnow,
        group_events: int = 5000,
    ) -> None:
        self._claims = claims
        self._kafka = kafka
        self._gate = gate
        self._topic = topic
        self._clock = clock
        self._group_events = group_events
        self._queue: asyncio.Queue[tuple[Claim, asyncio.Future[list[Event]]]] = asyncio.Queue()

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
        fresh = await self._submit(Claim(tenant_id, source_id, unique)) if unique else []
        outcome = Outcome(len(fresh), repeats + len(unique) - len(fresh), rejected)
        metrics.count(source, outcome.accepted, outcome.duplicates, len(rejected))
        return outcome

    async def _submit(self, claim: "Claim") -> list[Event]:
        self._check_kafka()
        done: asyncio.Future[list[Event]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((claim, done))
        return await done

    async def run_worker(self) -> None:
        """Take whatever requests are waiting (up to `group_events` events) and settle them
        in one transaction and one produce: under load, many requests share the round trips."""
        while True:
            group = [await self._queue.get()]
            size = len(group[0][0].events)
            while not self._queue.empty() and size < self._group_events:
                group.append(self._queue.get_nowait())
                size += len(group[-1][0].events)
            await self._settle([c for c, _ in group], [f for _, f in group])

    async def _settle(
        self, claims: list["Claim"], futures: list[asyncio.Future[list[Event]]]
    ) -> None:
        try:
            results = await self._claim_and_produce(claims)
        except Exception as exc:
            for future in futures:
                if not future.done():
                    future.set_exception(exc)
            return
        for future, fresh in zip(futures, results, strict=True):
            if not future.done():
                future.set_result(fresh)

    async def _claim_and_produce(self, claims: list["Claim"]) -> list[list[Event]]:
        try:
            return await self._in_transaction(claims)
        except DATABASE_ERRORS as exc:  # Postgres unreachable, deadlock, ...: nothing committed
            log.warning("claim transaction failed; rolled back", error=str(exc)[:200])
            raise Unavailable("the database is unavailable; retry later") from None

    async def _in_transaction(self, claims: list["Claim"]) -> list[list[Event]]:
        now = self._clock()
        owned = owners(claims)
        async with self._claims.transaction() as conn:
            claimed = await claim_pairs(conn, list(owned), now)
            results = [
                [
                    e
                    for e in c.events
                    if owned.get((c.tenant_id, e.id)) == n and (c.tenant_id, e.id) in claimed
                ]
                for n, c in enumerate(claims)
            ]
            messages = [
                m
                for c, fresh in zip(claims, results, strict=True)
                for m in observed(
                    fresh,
                    tenant_id=c.tenant_id,
                    source_id=c.source_id,
                    received_at=now,
                    topic=self._topic,
                )
            ]
            await self._produce(messages)
        return results

    def _check_kafka(self) -> None:
        _ = self._kafka.producer  # raises Unavailable until the first connection
        if not self._gate.is_open(time.monotonic()):
            raise Unavailable("Kafka is unavailable; retry later", self._gate.retry_after_s)

    async def _produce(self, messages: list[Encoded]) -> None:
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


@dataclass(frozen=True)
class Retention:
    """How long each kept record lives: dedup claims and webhook signatures for the dedup
    horizon (a replay past it would be new to the id check anyway), rejects for their own."""

    horizon: timedelta
    rejects: timedelta

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        return {
            "seen_events": now - self.horizon,
            "source_signatures": now - self.horizon,
            "source_rejects": now - self.rejects,
        }


async def prune_loop(
    sessions: async_sessionmaker[AsyncSession],
    retention: Retention,
    every_s: float,
    clock: Clock = utcnow,
) -> None:
    """Forget what is older than its retention, in batches."""
    while True:
        await asyncio.sleep(every_s)
        for table, before in retention.cutoffs(clock()).items():
            await prune_once(sessions, before, table)


async def prune_once(
    sessions: async_sessionmaker[AsyncSession], before: datetime, table: str = "seen_events"
) -> int:
    total = 0
    while True:
        async with unit_of_work(sessions) as session:
            conn = await session.connection()
            n = await repository.prune(conn, table, before)
        total += n
        metrics.PRUNED.labels(table).inc(n)
        if n == 0:
            return total
