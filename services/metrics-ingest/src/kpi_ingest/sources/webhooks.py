"""Receiving a source's raw payloads: check the signature, refuse replays, map to metric
events, hand them to the intake, and dead-letter whatever cannot be mapped."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from kpi_common.db import unit_of_work
from kpi_common.errors import NotFound
from kpi_common.events import MetricRejected, make_envelope
from kpi_common.kafka import Outgoing, publish
from kpi_common.logging import get_logger
from kpi_common.runtime import ProducerHandle
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_ingest import metrics
from kpi_ingest.config import SERVICE
from kpi_ingest.errors import BadSignature
from kpi_ingest.events import Limits, Rejection, check_all
from kpi_ingest.ingest import Clock, Intake, Outcome
from kpi_ingest.sources import repository, signatures
from kpi_ingest.sources.mapping import MappingError, apply
from kpi_ingest.sources.model import Signature, SourceDefinition

log = get_logger(__name__)


@dataclass(frozen=True)
class Delivery:
    """One raw webhook request as received."""

    source_id: str
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes


def verify(sig: Signature, d: Delivery, now: datetime, tolerance_s: int) -> str | None:
    """The signature to record against replays (None for a static key); raises on mismatch."""
    if sig.scheme == "hubspot_v3":
        uri = sig.public_url or d.url
        now_ms = int(now.timestamp() * 1000)
        return signatures.verify_hubspot_v3(sig.secret, d.method, uri, d.body, d.headers, now_ms)
    if sig.scheme == "stripe_v1":
        header = d.headers.get(sig.header_name)
        return signatures.verify_stripe_v1(
            sig.secret, header, d.body, int(now.timestamp()), tolerance_s
        )
    signatures.verify_static(sig.secret, d.headers.get(sig.header_name), sig.header_name)
    return None


class Webhooks:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        intake: Intake,
        kafka: ProducerHandle,
        dead_letter_topic: str,
        limits: Limits,
        tolerance_s: int,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._intake = intake
        self._kafka = kafka
        self._dlq = dead_letter_topic
        self._limits = limits
        self._tolerance_s = tolerance_s
        self._clock = clock

    async def receive(self, d: Delivery) -> Outcome:
        async with unit_of_work(self._sessions) as session:
            found = await repository.get_source(session, d.source_id)
        if found is None:
            raise NotFound(f"source {d.source_id}")
        tenant_id, definition = found
        signature = await self._check_signature(d, definition)
        try:
            return await self._map_and_accept(tenant_id, definition, d)
        except Exception:
            if signature is not None:  # let the sender's retry through
                async with unit_of_work(self._sessions) as session:
                    await repository.release_signature(session, d.source_id, signature)
            raise

    async def _check_signature(self, d: Delivery, definition: SourceDefinition) -> str | None:
        now = self._clock()
        try:
            signature = verify(definition.signature, d, now, self._tolerance_s)
        except signatures.SignatureError as exc:
            log.warning("webhook signature refused", source_id=d.source_id, reason=str(exc))
            raise BadSignature(str(exc)) from None
        if signature is None:
            return None
        async with unit_of_work(self._sessions) as session:
            fresh = await repository.claim_signature(session, d.source_id, signature, now)
        if not fresh:
            log.warning("webhook replay refused", source_id=d.source_id)
            raise BadSignature("this signature was already used (replayed delivery)")
        return signature

    async def _map_and_accept(
        self, tenant_id: str, definition: SourceDefinition, d: Delivery
    ) -> Outcome:
        try:
            raw = apply(definition.mapping, orjson.loads(d.body))
        except (orjson.JSONDecodeError, MappingError) as exc:
            rejection = Rejection(None, str(exc))
            await self._dead_letter(tenant_id, definition.kind, d, [rejection])
            metrics.count(definition.kind, 0, 0, 1)
            return Outcome(0, 0, [rejection])
        checked = check_all(raw, self._limits, self._clock())
        outcome = await self._intake.accept(
            tenant_id, definition.kind, checked.events, checked.rejected, source_id=d.source_id
        )
        await self._dead_letter(tenant_id, definition.kind, d, checked.rejected)
        return outcome

    async def _dead_letter(
        self, tenant_id: str, kind: str, d: Delivery, rejected: list[Rejection]
    ) -> None:
        if not rejected:
            return
        now = self._clock()
        payload = _text(d.body.decode("utf-8", errors="replace")[:100_000])
        digest = hashlib.sha256(d.body).hexdigest()[:24]
        messages = [
            Outgoing(
                self._dlq,
                f"{tenant_id}:{d.source_id}",
                self._rejected(tenant_id, d.source_id, digest, r, payload, now),
            )
            for r in rejected
        ]
        await publish(self._kafka.producer, messages)
        rows: list[dict[str, Any]] = [
            {
                "source_id": d.source_id,
                "tenant_id": tenant_id,
                "reason": r.reason,
                "payload": payload,
                "received_at": now,
            }
            for r in rejected
        ]
        async with unit_of_work(self._sessions) as session:
            await repository.add_rejects(session, rows)
        metrics.DEAD_LETTERS.labels(kind).inc(len(rejected))

    @staticmethod
    def _rejected(
        tenant_id: str, source_id: str, digest: str, r: Rejection, payload: str, now: datetime
    ) -> Any:
        data = MetricRejected(source_id=source_id, reason=r.reason, payload=payload, index=r.index)
        env_id = f"rej:{source_id}:{digest}:{r.index if r.index is not None else 'all'}"
        return make_envelope(id=env_id, tenant_id=tenant_id, producer=SERVICE, time=now, data=data)


def _text(value: str) -> str:
    """Postgres text cannot hold NUL; keep everything else as received."""
    return value.replace("\x00", "\ufffd")
