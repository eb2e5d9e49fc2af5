"""Who is calling: API keys learned from `apikey.upserted` (never the key, only its hash).
admin and editor keys may act (ack, silence, test, record reviews); viewer keys read."""

from dataclasses import dataclass

from fastapi import Request
from kpi_common.apikeys import bearer_token, hash_api_key
from kpi_common.errors import Forbidden, Unauthorized
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_notifier.directory import Directory
from kpi_notifier.repository import Repository


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    key_id: str
    role: str
    unit_scope: str | None = None

    def require_write(self) -> None:
        if self.role not in ("admin", "editor"):
            raise Forbidden(f"a {self.role} key cannot change anything in the notifier")

    def require_unit(self, directory: Directory, unit_id: str) -> None:
        """A scoped editor acts only on its unit subtree."""
        scope = self.unit_scope if self.role == "editor" else None
        if scope and scope not in directory.ancestors(unit_id):
            raise Forbidden(f"this key is limited to unit {self.unit_scope}")

    def require_units(self, directory: Directory, unit_ids: list[str]) -> None:
        """A scoped editor acts only on what names units, all of them in its subtree (a
        silence without a `unit` matcher would hold back every unit's notices)."""
        if self.role == "editor" and self.unit_scope and not unit_ids:
            raise Forbidden(f"this key is limited to unit {self.unit_scope}; name its units")
        for unit_id in unit_ids:
            self.require_unit(directory, unit_id)


async def authenticate(sessions: async_sessionmaker[AsyncSession], header: str | None) -> Principal:
    token = bearer_token(header)
    if token is None:
        raise Unauthorized()
    async with sessions() as session:
        key = await Repository(session).api_key(hash_api_key(token))
    if key is None or key.revoked:
        raise Unauthorized()
    if key.role not in ("admin", "editor", "viewer"):
        raise Forbidden(f"a {key.role} key cannot use the notifier API")
    return Principal(key.tenant_id, key.key_id, key.role, key.unit_scope)


async def principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, from `Authorization: Bearer <key>`."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.notifier.sessions
    return await authenticate(sessions, request.headers.get("Authorization"))
