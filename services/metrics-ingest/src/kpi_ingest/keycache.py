"""API keys and tenants learned from goals.changes: the consumer's handler stores them in
the `ingest` schema, and every replica keeps an in-memory KeyRing refreshed from there."""

import asyncio
import contextlib

from kpi_common.apikeys import key_record
from kpi_common.db import unit_of_work
from kpi_common.events import ApiKeyUpserted, TenantCreated
from kpi_common.kafka import Message
from kpi_common.logging import get_logger
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kpi_ingest import repository
from kpi_ingest.keys import KeyRing

log = get_logger(__name__)


class KeyCache:
    """Holds the current KeyRing; `refresh` reloads it from the table."""

    def __init__(self, engine: AsyncEngine, refresh_s: float) -> None:
        self._engine = engine
        self._refresh_s = refresh_s
        self._wake = asyncio.Event()
        self.ring = KeyRing()

    async def refresh(self) -> None:
        async with self._engine.connect() as conn:
            self.ring = KeyRing(await repository.all_keys(conn))

    def notify(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Reload every `refresh_s`, or at once after this replica stored new keys."""
        while True:
            await self.refresh()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._refresh_s)


class GoalsChangesHandler:
    """Applies tenant.created and apikey.upserted in one transaction per batch."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], cache: KeyCache) -> None:
        self._sessions = sessions
        self._cache = cache

    async def __call__(self, messages: list[Message], _offsets: object) -> None:
        relevant = [m for m in messages if m.envelope.type in ("tenant.created", "apikey.upserted")]
        if not relevant:
            return
        async with unit_of_work(self._sessions) as session:
            for message in relevant:
                await self._apply(session, message)
        self._cache.notify()

    async def _apply(self, session: AsyncSession, message: Message) -> None:
        env, data = message.envelope, message.data
        if isinstance(data, TenantCreated):
            await repository.upsert_tenant(session, env.tenant_id, data.slug)
        elif isinstance(data, ApiKeyUpserted):  # v1 or v2
            await repository.save_key(session, key_record(env.tenant_id, data))
            log.info("api key learned", key_id=data.key_id, role=data.role, revoked=data.revoked)
