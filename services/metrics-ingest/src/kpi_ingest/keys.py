"""Pure rules for API keys learned from goals.changes: which key may do what. How a new
`apikey.upserted` combines with what is stored is the rule every service shares
(`kpi_common.apikeys.upsert_key`). Keys are held only as hashes."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kpi_common.apikeys import hash_api_key

INGEST_ROLES = frozenset({"ingest", "admin"})
ADMIN_ROLES = frozenset({"admin"})
ANY_ROLE = frozenset({"admin", "editor", "viewer", "ingest"})


@dataclass(frozen=True)
class KeyGrant:
    key_id: str
    tenant_id: str
    key_hash: str
    role: str
    revoked: bool


class KeyRing:
    """The in-memory view of every known key, indexed by hash."""

    def __init__(self, grants: Iterable[KeyGrant] = ()) -> None:
        self._by_hash: Mapping[str, KeyGrant] = {g.key_hash: g for g in grants}

    def __len__(self) -> int:
        return len(self._by_hash)

    def authenticate(self, token: str | None, roles: frozenset[str]) -> KeyGrant | None:
        """The grant of a live key with one of `roles`, or None (unknown, revoked, wrong role)."""
        if not token:
            return None
        grant = self._by_hash.get(hash_api_key(token))
        if grant is None or grant.revoked or grant.role not in roles:
            return None
        return grant
