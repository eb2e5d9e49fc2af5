"""Who may do what: roles, and an editor's unit subtree. Pure rules on plain data.

- `admin`: everything in its tenant, including API keys.
- `editor`: reads everything; applies strategy changes only to nodes inside its unit
  subtree (when the key has a unit scope; otherwise to every node).
- `viewer`: reads only.
- `ingest`: for metrics-ingest; no goals API at all.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from kpi_common.errors import Forbidden

from kpi_goals.document import as_list
from kpi_goals.nodes import Change

Role = Literal["admin", "editor", "viewer", "ingest"]
ROLES: tuple[Role, ...] = ("admin", "editor", "viewer", "ingest")


@dataclass(frozen=True)
class Principal:
    tenant_id: UUID
    key_id: str
    role: Role
    unit_scope: str | None = None


def require_read(who: Principal) -> None:
    if who.role == "ingest":
        raise Forbidden("an ingest key cannot use the goals API")


def require_write(who: Principal) -> None:
    require_read(who)
    if who.role == "viewer":
        raise Forbidden("a viewer key is read-only")


def require_admin(who: Principal) -> None:
    if who.role != "admin":
        raise Forbidden("only an admin key may do this")


def revoke_risks(who: Principal, key_id: str, active_admins: Iterable[str]) -> list[str]:
    """What revoking `key_id` would cause that the caller must confirm with `force`:
    revoking the key making the call, or the tenant's last admin key."""
    risks = []
    if key_id == who.key_id:
        risks.append(f"{key_id} is the key making this call: revoking it ends your access at once")
    if set(active_admins) == {key_id}:
        risks.append(
            f"{key_id} is the tenant's last admin key: revoking it leaves the tenant with no "
            "admin, and only the operator can issue a new one (kpi tenants admin-key)"
        )
    return risks


def subtree(parents: Mapping[str, str | None], root: str) -> set[str]:
    """`root` and every unit below it, given each unit's parent."""
    children: dict[str, list[str]] = {}
    for unit, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(unit)
    out, todo = set(), [root]
    while todo:
        unit = todo.pop()
        if unit not in out:
            out.add(unit)
            todo += children.get(unit, [])
    return out


def node_unit(
    node_type: str, definition: Mapping[str, Any] | None, units_of: Mapping[str, str]
) -> str | None:
    """The unit a node belongs to: a unit's parent; else its own `unit`; else the unit of
    the first node it serves (`supports` / `so_that`)."""
    if not definition:
        return None
    own = definition.get("parent" if node_type == "unit" else "unit")
    if isinstance(own, str) or node_type == "unit":
        return own if isinstance(own, str) else None
    for parent in as_list(definition.get("supports")) + as_list(definition.get("so_that")):
        if parent in units_of:
            return units_of[parent]
    return None


def check_editor_changes(
    who: Principal, changes: Iterable[Change], allowed: set[str], units_of: Mapping[str, str]
) -> None:
    """A scoped editor may only change nodes whose unit, before and after, is in `allowed`
    (for a unit: its parent, so the editor shapes the tree beneath its own unit)."""
    if who.role != "editor" or who.unit_scope is None:
        return
    outside = [
        f"{c.node_type} {c.node_id}"
        for c in changes
        if any(
            node_unit(c.node_type, d, units_of) not in allowed
            for d in (c.before, c.definition)
            if d is not None
        )
    ]
    if outside:
        shown = ", ".join(outside[:10])
        raise Forbidden(f"an editor of unit {who.unit_scope} cannot change: {shown}")
