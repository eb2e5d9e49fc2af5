"""Pure rules for API keys learned from goals.changes: which key may do what. How a new
`apikey.upserted` combines with what is stored is the rule every service shares
(`kpi_common.apikeys.upsert_key`). Keys are held only as hashes."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kpi_common.apikeys import hash_api_key

INGEST_ROLES = frozenset({"ingest", "admin"})
ADMIN_ROLES = frozenset({"admin"})
ANY_ROLE = frozenset({"admin", "editor", "viewer", "ingest"})
# what each set of roles allows, for the 403 that names it
ALLOWS = {INGEST_ROLES: "sending events", ADMIN_ROLES: "managing sources", ANY_ROLE: "this"}


def wrong_role(role: str, roles: frozenset[str]) -> str:
    """Why a live key of `role` is refused where `roles` are needed (the 403's message)."""
    wanted = " or ".join(f"'{r}'" for r in sorted(roles, key=_ROLE_ORDER.index))
    return f"this key has role '{role}'; {ALLOWS[roles]} needs an {wanted} key"


_ROLE_ORDER = ("ingest", "editor", "viewer", "admin")


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

    def live(self, token: str | None) -> KeyGrant | None:
        """The grant of a known, unrevoked key, whatever its role."""
        grant = self._by_hash.get(hash_api_key(token)) if token else None
        return grant if grant is not None and not grant.revoked else None

    def authenticate(self, token: str | None, roles: frozenset[str]) -> KeyGrant | None:
        """The grant of a live key with one of `roles`, or None (unknown, revoked, wrong role)."""
        if not token:
            return None
        grant = self._by_hash.get(hash_api_key(token))
        if grant is None or grant.revoked or grant.role not in roles:
            return None
        return grant
