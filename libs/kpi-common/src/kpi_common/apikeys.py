"""API key format and hashing, shared by the service that issues keys and those that check
them, and the one rule by which those that check them store what goals publishes
(`upsert_key`). Keys are 32 random bytes, so a plain SHA-256 is a safe one-way store."""

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import TableClause, case, func, or_
from sqlalchemy.dialects.postgresql import Insert, insert

from kpi_common.events import ApiKeyUpserted, ApiKeyUpsertedV2

KEY_PREFIX = "kpi_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(key), stored_hash)


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@dataclass(frozen=True)
class KeyRecord:
    """What a service that checks keys stores of one, from `apikey.upserted`."""

    key_id: str
    tenant_id: str
    key_hash: str
    role: str
    unit_scope: str | None
    revoked: bool
    revision: int


_V1 = {False: 1, True: 2}  # a v1 event's revision, by `revoked`


def key_record(tenant_id: str, data: ApiKeyUpserted) -> KeyRecord:
    """The record an event carries. A v1 event has no revision: goals published a key's
    creation and its revocation, the only two steps, so a revoked v1 is revision 2 and any
    other revision 1 (an old topic replays as it would in v2)."""
    revision = data.revision if isinstance(data, ApiKeyUpsertedV2) else _V1[data.revoked]
    return KeyRecord(
        data.key_id, tenant_id, data.key_hash, data.role, data.unit_scope, data.revoked, revision
    )


# Columns that take the newest revision's value; `revoked` is sticky, `revision` the largest.
_NEWEST = ("tenant_id", "key_hash", "role", "unit_scope")


def upsert_key(table: TableClause, key: KeyRecord) -> Insert:
    """The one rule for a stored key, as one statement on a service's own key table (with
    `key_id` unique, `revision` and `revoked`; `unit_scope` and `updated_at` if it has them):
    the newest revision wins, and a revoked key stays revoked under any replay or order
    (revoked = stored.revoked OR incoming.revoked)."""
    values = {c: v for c, v in asdict(key).items() if c in table.c}
    stmt = insert(table).values(values)
    new = stmt.excluded
    newer = new.revision > table.c.revision
    set_: dict[str, Any] = {
        c: case((newer, new[c]), else_=table.c[c]) for c in _NEWEST if c in values
    }
    set_["revoked"] = or_(table.c.revoked, new.revoked)
    set_["revision"] = func.greatest(table.c.revision, new.revision)
    if "updated_at" in table.c:
        set_["updated_at"] = func.now()
    return stmt.on_conflict_do_update(index_elements=[table.c.key_id], set_=set_)
