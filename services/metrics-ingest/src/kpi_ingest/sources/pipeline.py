"""What every source shares after its transport: map raw payloads with the source's rules,
check the resulting events like POST /v1/events, hand the good ones to the intake in one
claim-and-produce, and dead-letter what cannot be used (metrics.dead-letter, the rejects
table, a counter)."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from kpi_common.db import unit_of_work
from kpi_common.events import Envelope, MetricRejected, make_envelope
from kpi_common.kafka import Outgoing, publish
from kpi_common.runtime import ProducerHandle
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_ingest import metrics
from kpi_ingest.config import SERVICE
from kpi_ingest.events import Event, EventError, Limits, Rejection, check_event
from kpi_ingest.ingest import Clock, Intake, Outcome
from kpi_ingest.sources import repository
from kpi_ingest.sources.mapping import MappingError, Rule, apply


@dataclass(frozen=True)
class Source:
    tenant_id: str
    source_id: str
    kind: str
    rules: list[Rule]


@dataclass(frozen=True)
class Refused:
    """A payload (or one event mapped from it) that cannot be used, and why."""

    body: bytes
    rejection: Rejection


def unwrap_debezium(payload: Any) -> Any:
    """Debezium's JSON converter with schemas wraps the change event in `payload`."""
    if isinstance(payload, dict) and "payload" in payload and "schema" in payload:
        return payload["payload"]
    return payload


class SourcePipeline:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        intake: Intake,
        kafka: ProducerHandle,
        dead_letter_topic: str,
        limits: Limits,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._intake = intake
        self._kafka = kafka
        self._dlq = dead_letter_topic
        self._limits = limits
        self._clock = clock

    async def process(self, source: Source, bodies: list[bytes], *, cdc: bool = False) -> Outcome:
        events: list[Event] = []
        refused: list[Refused] = []
        now = self._clock()
        for body in bodies:
            self._map_one(source, body, now, cdc, events, refused)
        outcome = await self._intake.accept(
            source.tenant_id, source.kind, events, [], source_id=source.source_id
        )
        await self._dead_letter(source, refused)
        metrics.count(source.kind, 0, 0, len(refused))
        return Outcome(outcome.accepted, outcome.duplicates, [r.rejection for r in refused])

    def _map_one(
        self,
        source: Source,
        body: bytes,
        now: datetime,
        cdc: bool,
        events: list[Event],
        refused: list[Refused],
    ) -> None:
        try:
            payload = orjson.loads(body)
            raw = apply(source.rules, unwrap_debezium(payload) if cdc else payload)
        except (orjson.JSONDecodeError, MappingError) as exc:
            refused.append(Refused(body, Rejection(None, str(exc))))
            return
        for index, item in enumerate(raw):
            try:
                events.append(check_event(item, self._limits, now))
            except EventError as exc:
                refused.append(Refused(body, Rejection(index, str(exc))))

    async def _dead_letter(self, source: Source, refused: list[Refused]) -> None:
        if not refused:
            return
        now = self._clock()
        key = f"{source.tenant_id}:{source.source_id}"
        await publish(
            self._kafka.producer,
            [Outgoing(self._dlq, key, _rejected(source, r, now)) for r in refused],
        )
        rows = [
            {
                "source_id": source.source_id,
                "tenant_id": source.tenant_id,
                "reason": _text(r.rejection.reason),
                "payload": _text(_payload(r.body)),
                "received_at": now,
            }
            for r in refused
        ]
        async with unit_of_work(self._sessions) as session:
            await repository.add_rejects(session, rows)
        metrics.DEAD_LETTERS.labels(source.kind).inc(len(refused))


def _payload(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")[:100_000]


def _rejected(source: Source, r: Refused, now: datetime) -> Envelope:
    index = r.rejection.index
    data = MetricRejected(
        source_id=source.source_id,
        reason=r.rejection.reason,
        payload=_payload(r.body),
        index=index,
    )
    digest = hashlib.sha256(r.body).hexdigest()[:24]
    env_id = f"rej:{source.source_id}:{digest}:{index if index is not None else 'all'}"
    return make_envelope(
        id=env_id, tenant_id=source.tenant_id, producer=SERVICE, time=now, data=data
    )


def _text(value: str) -> str:
    """Postgres text cannot hold NUL; keep everything else as received."""
    return value.replace("\x00", "\ufffd")
