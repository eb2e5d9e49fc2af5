"""Transactional outbox: a row written in the same transaction as the change it announces,
relayed to Kafka after commit, in insertion order.

One relay per service publishes at a time (a Postgres advisory lock), so order per key
holds with several replicas. Rows are deleted once Kafka acknowledged them; a crash between
the two re-publishes, and consumers drop the repeat by the envelope id.
"""

import asyncio
import contextlib
import zlib
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Gauge
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from kpi_common.events import Envelope, encode
from kpi_common.logging import get_logger

log = get_logger(__name__)

OUTBOX_PUBLISHED = Counter(
    "kpi_outbox_published_total", "Outbox rows relayed to Kafka", ["service"]
)
OUTBOX_BACKLOG = Gauge(
    "kpi_outbox_backlog_messages", "Outbox rows waiting to be relayed", ["service"]
)


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("topic", String(255), nullable=False),
        Column("key", String(512), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


async def add_to_outbox(
    session: AsyncSession, table: Table, items: Sequence[tuple[str, str, Envelope]]
) -> None:
    """Queue (topic, key, envelope) items in the caller's transaction."""
    if items:
        rows = [{"topic": t, "key": k, "payload": encode(e)} for t, k, e in items]
        await session.execute(insert(table), rows)


class OutboxRelay:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        table: Table,
        producer: AIOKafkaProducer,
        service: str,
        batch_size: int = 500,
        idle_s: float = 0.2,
    ) -> None:
        self._engine = engine
        self._table = table
        self._producer = producer
        self._service = service
        self._batch = batch_size
        self._idle_s = idle_s
        self._wake = asyncio.Event()
        self._lock_id = zlib.crc32(f"kpi-outbox:{table.schema}".encode())

    def notify(self) -> None:
        """Ask for a relay pass now (after a commit that wrote outbox rows)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                sent = await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay failed, will retry", error=str(exc)[:300])
                sent = 0
                await asyncio.sleep(1.0)
            if sent < self._batch:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_s)

    async def relay_once(self) -> int:
        """Publish one batch in order; returns how many rows went out."""
        t = self._table
        async with self._engine.connect() as conn, conn.begin():
            got = await conn.execute(
                text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": self._lock_id}
            )
            if not got.scalar():
                return 0
            rows = (
                await conn.execute(
                    select(t.c.id, t.c.topic, t.c.key, t.c.payload)
                    .order_by(t.c.id)
                    .limit(self._batch)
                )
            ).all()
            if not rows:
                OUTBOX_BACKLOG.labels(self._service).set(0)
                return 0
            futures = [
                await self._producer.send(r.topic, value=r.payload, key=r.key.encode())
                for r in rows
            ]
            await asyncio.gather(*futures)
            await conn.execute(delete(t).where(t.c.id.in_([r.id for r in rows])))
        OUTBOX_PUBLISHED.labels(self._service).inc(len(rows))
        return len(rows)

    async def backlog(self) -> int:
        async with self._engine.connect() as conn:
            n = (await conn.execute(select(func.count()).select_from(self._table))).scalar_one()
        OUTBOX_BACKLOG.labels(self._service).set(n)
        return int(n)
