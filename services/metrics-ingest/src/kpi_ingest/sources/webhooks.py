"""Receiving a source's raw payloads: check the signature, refuse replays, map to metric
events, hand them to the intake, and dead-letter whatever cannot be mapped."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from kpi_common.db import unit_of_work
from kpi_common.errors import NotFound
from kpi_common.logging import get_logger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_ingest.errors import BadSignature
from kpi_ingest.ingest import Clock, Outcome
from kpi_ingest.sources import repository, signatures
from kpi_ingest.sources.model import Signature
from kpi_ingest.sources.pipeline import Source, SourcePipeline

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
        pipeline: SourcePipeline,
        tolerance_s: int,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._pipeline = pipeline
        self._tolerance_s = tolerance_s
        self._clock = clock

    async def receive(self, d: Delivery) -> Outcome:
        async with unit_of_work(self._sessions) as session:
            found = await repository.get_source(session, d.source_id)
        if found is None:
            raise NotFound(f"source {d.source_id}")
        tenant_id, definition = found
        if definition.signature is None:
            raise NotFound(f"webhook of source {d.source_id}")
        signature = await self._check_signature(d, definition.signature)
        source = Source(tenant_id, d.source_id, definition.kind, definition.mapping)
        try:
            return await self._pipeline.process(source, [d.body])
        except Exception:
            if signature is not None:  # let the sender's retry through
                async with unit_of_work(self._sessions) as session:
                    await repository.release_signature(session, d.source_id, signature)
            raise

    async def _check_signature(self, d: Delivery, sig: Signature) -> str | None:
        now = self._clock()
        try:
            signature = verify(sig, d, now, self._tolerance_s)
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
