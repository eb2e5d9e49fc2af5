"""Use cases of the goals service: one unit of work each, events through the outbox.

Tenants and keys live in `kpi_goals.tenancy`; reads in `kpi_goals.reads`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kpi_common.db import unit_of_work
from kpi_common.errors import Invalid
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_goals.access import (
    Principal,
    check_editor_changes,
    node_unit,
    require_read,
    require_write,
    subtree,
)
from kpi_goals.config import Settings
from kpi_goals.metrics import NODE_CHANGES, STRATEGY_APPLIES
from kpi_goals.nodes import Change, Key, Node, Stored, diff, event_key, summary, to_event, to_nodes
from kpi_goals.parsing import Source
from kpi_goals.repository import Repository
from kpi_goals.validation import validate

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Deps:
    """What the handlers need, wired once in `main.create_app`."""

    sessions: async_sessionmaker[AsyncSession]
    topic: str
    clock: Clock
    notify: Callable[[], None]
    settings: Settings


async def apply_strategy(
    deps: Deps, who: Principal, source: Source, *, dry_run: bool, reason: str | None
) -> dict[str, Any]:
    """Make the tenant's cascade match the document, in one transaction (or only diff it)."""
    require_write(who)
    try:
        validate(source)
    except Invalid:
        STRATEGY_APPLIES.labels("invalid").inc()
        raise
    desired = to_nodes(source.data)
    positions = {(n.node_type, n.node_id): i for i, n in enumerate(desired)}
    async with unit_of_work(deps.sessions) as session:
        repo = Repository(session)
        if not dry_run:
            await repo.lock_tenant(who.tenant_id)
        current = await repo.current(who.tenant_id)
        changes = diff(current, desired)
        _authorize(who, current, desired, changes)
        if changes and not dry_run:
            await _record(deps, repo, who, changes, positions, reason)
    if changes and not dry_run:
        deps.notify()
    _count(changes, dry_run)
    return {"dry_run": dry_run, **summary(changes)}


def _count(changes: list[Change], dry_run: bool) -> None:
    outcome = "dry_run" if dry_run else "applied" if changes else "unchanged"
    STRATEGY_APPLIES.labels(outcome).inc()
    if not dry_run:
        for change in changes:
            NODE_CHANGES.labels(change.action).inc()


def _authorize(
    who: Principal, current: dict[Key, Stored], desired: list[Node], changes: list[Change]
) -> None:
    """Scoped editors: every changed node must lie in the key's unit subtree."""
    if who.role != "editor" or who.unit_scope is None:
        return
    known = [(t, s.definition) for (t, _), s in current.items() if s.definition is not None]
    known += [(n.node_type, n.definition) for n in desired]
    parents = {str(d["id"]): d.get("parent") for t, d in known if t == "unit"}
    units_of: dict[str, str] = {}
    for _ in range(4):  # a node without a unit takes that of what it serves, a few levels up
        for node_type, d in known:
            unit = node_unit(node_type, d, units_of) if node_type != "unit" else None
            if unit is not None:
                units_of.setdefault(str(d["id"]), unit)
    check_editor_changes(who, changes, subtree(parents, who.unit_scope), units_of)


async def _record(
    deps: Deps,
    repo: Repository,
    who: Principal,
    changes: list[Change],
    positions: dict[Key, int],
    reason: str | None,
) -> None:
    now = deps.clock()
    tenant = str(who.tenant_id)
    await repo.save(who.tenant_id, changes, positions, now)
    await repo.add_history([_history_row(who, c, reason, now) for c in changes])
    await repo.publish(
        [
            (deps.topic, event_key(tenant, c.node_type, c.node_id), to_event(tenant, c, now))
            for c in changes
        ]
    )


def _history_row(
    who: Principal, change: Change, reason: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "tenant_id": who.tenant_id,
        "node_type": change.node_type,
        "node_id": change.node_id,
        "revision": change.revision,
        "action": change.action,
        "definition": change.definition,
        "before": change.before,
        "key_id": who.key_id,
        "reason": reason or target_reasons(change),
        "changed_at": now,
    }


def target_reasons(change: Change) -> str | None:
    """The `reason`s of per-period targets that this change adds or alters."""
    old = {_target_key(t) for t in (change.before or {}).get("targets") or []}
    reasons = [
        str(t["reason"])
        for t in (change.definition or {}).get("targets") or []
        if isinstance(t, dict) and t.get("reason") and _target_key(t) not in old
    ]
    return "; ".join(reasons) or None


def _target_key(target: Any) -> tuple[Any, ...]:
    if not isinstance(target, dict):
        return (target,)
    return (target.get("period"), target.get("value"), target.get("reason"))


async def get_strategy(deps: Deps, who: Principal) -> list[Node]:
    require_read(who)
    async with unit_of_work(deps.sessions) as session:
        return await Repository(session).live(who.tenant_id)


CONTRACT_VERSION = 2


async def republish_contract(deps: Deps) -> int:
    """One-step migration of `goals.changes` to the v2 contract: once, every live node of
    every tenant is published again as `node.upserted` v2 at its current revision (the
    consumers replace a v1 row by the v2 of the same revision). Returns the nodes sent."""
    async with unit_of_work(deps.sessions) as session:
        repo = Repository(session)
        if await repo.published_contract() >= CONTRACT_VERSION:
            return 0
        now = deps.clock()
        items = []
        for tenant_id, node_type, node_id, revision, definition in await repo.all_live():
            change = Change("update", node_type, node_id, revision, definition, None)  # type: ignore[arg-type]
            tenant = str(tenant_id)
            items.append(
                (deps.topic, event_key(tenant, node_type, node_id), to_event(tenant, change, now))
            )
        await repo.publish(items)
        await repo.set_published_contract(CONTRACT_VERSION)
    if items:
        deps.notify()
    return len(items)
