"""Tenants and API keys: created with their events in one transaction, keys shown once."""

import hmac
import secrets
import uuid
from typing import Any, cast

import structlog
from kpi_common.apikeys import hash_api_key, new_api_key
from kpi_common.db import unit_of_work
from kpi_common.errors import Conflict, FieldError, Invalid, NotFound, Unauthorized
from kpi_common.events import ApiKeyUpsertedV2, Envelope, TenantCreated, make_envelope

from kpi_goals.access import Principal, Role, require_admin, revoke_risks
from kpi_goals.handlers import Deps
from kpi_goals.repository import KeyRow, Repository

OPERATOR = "operator"  # `created_by` / `revoked_by` of what the operator token did
log = structlog.get_logger("kpi_goals.tenancy")


def check_operator(deps: Deps, token: str | None) -> None:
    expected = deps.settings.operator_token
    if token is None or expected is None:
        raise Unauthorized("the operator token is required")
    if not hmac.compare_digest(token.encode(), expected.get_secret_value().encode()):
        raise Unauthorized("the operator token is required")


async def authenticate(deps: Deps, token: str | None) -> Principal:
    if token is None:
        raise Unauthorized()
    async with unit_of_work(deps.sessions) as session:
        row = await Repository(session).key_by_hash(hash_api_key(token))
    if row is None or row.revoked:
        raise Unauthorized()
    return Principal(row.tenant_id, row.key_id, cast(Role, row.role), row.unit_scope)


async def create_tenant(deps: Deps, slug: str) -> dict[str, Any]:
    """A new tenant and its first admin key (the only time the key is shown)."""
    tenant_id = uuid.uuid4()
    key = new_api_key()
    row = KeyRow(_key_id(), tenant_id, "admin", None, False)
    now = deps.clock()
    async with unit_of_work(deps.sessions) as session:
        repo = Repository(session)
        await repo.create_tenant(tenant_id, slug, now)
        await repo.add_key(row, hash_api_key(key), "initial admin key", now, OPERATOR)
        tenant = str(tenant_id)
        created = make_envelope(
            id=f"{tenant}:tenant:created",
            tenant_id=tenant,
            producer="goals",
            time=now,
            data=TenantCreated(slug=slug),
        )
        await repo.publish(
            [
                (deps.topic, f"{tenant}:tenant:{tenant}", created),
                _key_event(deps, row, hash_api_key(key), 1),
            ]
        )
    deps.notify()
    return {"tenant_id": tenant, "slug": slug, "admin_api_key": key, "key_id": row.key_id}


async def create_key(
    deps: Deps, who: Principal, role: Role, unit: str | None, name: str | None
) -> dict[str, Any]:
    require_admin(who)
    key = new_api_key()
    row = KeyRow(_key_id(), who.tenant_id, role, unit, False)
    async with unit_of_work(deps.sessions) as session:
        repo = Repository(session)
        if unit is not None and await repo.get(who.tenant_id, "unit", unit) is None:
            raise Invalid("unknown unit", [_unit_error(unit)])
        await repo.add_key(row, hash_api_key(key), name, deps.clock(), who.key_id)
        await repo.publish([_key_event(deps, row, hash_api_key(key), 1)])
    deps.notify()
    return {"key_id": row.key_id, "api_key": key, "role": role, "unit_scope": unit, "name": name}


async def issue_admin_key(deps: Deps, tenant: str, name: str | None) -> dict[str, Any]:
    """A new admin key for an existing tenant, by the operator (the tenant may have none
    left). Recorded as created by the operator, and logged."""
    key = new_api_key()
    now = deps.clock()
    async with unit_of_work(deps.sessions) as session:
        repo = Repository(session)
        tenant_id = await repo.tenant_id(tenant)
        if tenant_id is None:
            raise NotFound(f"tenant {tenant}")
        row = KeyRow(_key_id(), tenant_id, "admin", None, False)
        await repo.add_key(row, hash_api_key(key), name or "issued by the operator", now, OPERATOR)
        await repo.publish([_key_event(deps, row, hash_api_key(key), 1)])
    deps.notify()
    log.info("admin key issued by the operator", tenant_id=str(tenant_id), key_id=row.key_id)
    return {
        "tenant_id": str(tenant_id),
        "key_id": row.key_id,
        "admin_api_key": key,
        "created_by": OPERATOR,
        "created_at": now.isoformat(),
    }


async def revoke_key(
    deps: Deps, who: Principal, key_id: str, force: bool = False
) -> dict[str, Any]:
    """Revoke a key. Revoking the caller's own key or the tenant's last admin key is
    refused (409, saying what it would cause) unless `force`."""
    require_admin(who)
    async with unit_of_work(deps.sessions) as session:
        repo = Repository(session)
        await repo.lock_tenant(who.tenant_id)
        risks = revoke_risks(who, key_id, await repo.active_admins(who.tenant_id))
        found = await repo.revoke_key(who.tenant_id, key_id, who.key_id, deps.clock())
        if found is None:
            raise NotFound(f"API key {key_id}")
        if risks and not force:
            raise Conflict("; ".join(risks) + ". Pass force=true (--force) to revoke anyway")
        row, key_hash = found
        await repo.publish([_key_event(deps, row, key_hash, 2)])
    deps.notify()
    return {"key_id": key_id, "revoked": True}


async def list_keys(deps: Deps, who: Principal) -> list[dict[str, Any]]:
    require_admin(who)
    async with unit_of_work(deps.sessions) as session:
        return await Repository(session).list_keys(who.tenant_id)


def _unit_error(unit: str) -> FieldError:
    return FieldError("unit", f"unknown unit {unit!r}")


def _key_id() -> str:
    return "key_" + secrets.token_hex(8)


def _key_event(deps: Deps, row: KeyRow, key_hash: str, revision: int) -> tuple[str, str, Envelope]:
    """`apikey.upserted` v2: revision 1 when the key is created, 2 when it is revoked."""
    tenant = str(row.tenant_id)
    data = ApiKeyUpsertedV2(
        key_id=row.key_id,
        key_hash=key_hash,
        role=row.role,
        unit_scope=row.unit_scope,
        revoked=row.revoked,
        revision=revision,
    )
    envelope = make_envelope(
        id=f"{tenant}:apikey:{row.key_id}:r{revision}:v2",
        tenant_id=tenant,
        producer="goals",
        time=deps.clock(),
        data=data,
    )
    return deps.topic, f"{tenant}:apikey:{row.key_id}", envelope
