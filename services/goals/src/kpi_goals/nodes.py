"""The strategy as nodes, and the pure diff between what is stored and what is wanted.

A node is one entry of the document (docs/events.md, `goals.changes`): its `definition` is
the entry as written, with `supports` always a list. The diff yields the changes and the
`node.upserted` / `node.deleted` events they publish, one revision up per changed node.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from kpi_common.events import Envelope, NodeDeleted, NodeType, NodeUpsertedV2, make_envelope

from kpi_goals.contract import normalise
from kpi_goals.document import DEFAULT_INHIBIT

SECTIONS: dict[str, NodeType] = {
    "units": "unit",
    "people": "person",
    "goals": "goal",
    "objectives": "objective",
    "success_factors": "success_factor",
    "kpis": "kpi",
    "reviews": "review",
}
ORDER: tuple[NodeType, ...] = (
    "organization", *SECTIONS.values(), "alert_channel", "alert_route", "alert_inhibit"
)  # fmt: skip
Key = tuple[NodeType, str]  # (node_type, node_id)


@dataclass(frozen=True)
class Node:
    node_type: NodeType
    node_id: str
    definition: dict[str, Any]


@dataclass(frozen=True)
class Stored:
    """What the store holds for one node; a deleted node keeps its revision (a tombstone)."""

    revision: int
    definition: dict[str, Any] | None  # None when deleted


@dataclass(frozen=True)
class Change:
    action: Literal["create", "update", "delete"]
    node_type: NodeType
    node_id: str
    revision: int
    definition: dict[str, Any] | None
    before: dict[str, Any] | None

    @property
    def key(self) -> Key:
        return (self.node_type, self.node_id)


def _normalise(entry: dict[str, Any]) -> dict[str, Any]:
    definition = dict(entry)
    if "supports" in definition and not isinstance(definition["supports"], list):
        definition["supports"] = [definition["supports"]]
    return definition


def to_nodes(raw: dict[str, Any]) -> list[Node]:
    """The nodes of a validated raw document, in document order."""
    out = [Node("organization", "organization", dict(raw["organization"]))]
    for section, node_type in SECTIONS.items():
        out += [Node(node_type, e["id"], _normalise(e)) for e in raw.get(section) or []]
    alerts = raw.get("alerts") or {}
    out += [Node("alert_channel", n, c) for n, c in (alerts.get("channels") or {}).items()]
    out += [Node("alert_route", str(i), r) for i, r in enumerate(alerts.get("routes") or [])]
    return out + _inhibit_nodes(alerts)


def _inhibit_nodes(alerts: dict[str, Any]) -> list[Node]:
    """The document's inhibit rules; none declared: the documented default, marked
    `implicit` (so `GET /v1/strategy` gives the document back without it)."""
    rules = alerts.get("inhibit")
    if rules is None:
        rules = [{**rule, "implicit": True} for rule in DEFAULT_INHIBIT]
    return [Node("alert_inhibit", str(i), dict(r)) for i, r in enumerate(rules)]


def _inhibit_section(nodes: list[Node]) -> dict[str, Any]:
    """`inhibit` as the document wrote it: absent when only the default was published,
    `[]` when the document declared none."""
    ordered = sorted(nodes, key=lambda n: int(n.node_id))
    if ordered and all(n.definition.get("implicit") for n in ordered):
        return {}
    return {"inhibit": [n.definition for n in ordered]}


def to_document(nodes: list[Node]) -> dict[str, Any]:
    """The document that `to_nodes` turns back into `nodes` (GET /v1/strategy)."""
    doc: dict[str, Any] = {"version": 1}
    by_type: dict[str, list[Node]] = {}
    for node in nodes:
        by_type.setdefault(node.node_type, []).append(node)
    for node in by_type.get("organization", []):
        doc["organization"] = node.definition
    for section, node_type in SECTIONS.items():
        doc[section] = [n.definition for n in by_type.get(node_type, [])]
    routes = sorted(by_type.get("alert_route", []), key=lambda n: int(n.node_id))
    doc["alerts"] = {
        "channels": {n.node_id: n.definition for n in by_type.get("alert_channel", [])},
        "routes": [n.definition for n in routes],
        **_inhibit_section(by_type.get("alert_inhibit", [])),
    }
    return doc


def diff(current: dict[Key, Stored], desired: list[Node]) -> list[Change]:
    """Creates and updates in document order, then deletes in reverse cascade order."""
    return _upserts(current, desired) + _deletes(
        current, {(n.node_type, n.node_id) for n in desired}
    )


def _upserts(current: dict[Key, Stored], desired: list[Node]) -> list[Change]:
    changes: list[Change] = []
    for node in desired:
        stored = current.get((node.node_type, node.node_id))
        if stored is not None and stored.definition == node.definition:
            continue
        action: Literal["create", "update"] = (
            "update" if stored is not None and stored.definition is not None else "create"
        )
        revision = stored.revision + 1 if stored is not None else 1
        before = stored.definition if stored is not None else None
        changes.append(
            Change(action, node.node_type, node.node_id, revision, node.definition, before)
        )
    return changes


def _deletes(current: dict[Key, Stored], wanted: set[Key]) -> list[Change]:
    gone = [k for k, s in current.items() if k not in wanted and s.definition is not None]
    gone.sort(key=lambda k: (-ORDER.index(k[0]), k[1]))
    return [
        Change("delete", t, i, current[(t, i)].revision + 1, None, current[(t, i)].definition)
        for t, i in gone
    ]


def event_key(tenant_id: str, node_type: str, node_id: str) -> str:
    return f"{tenant_id}:{node_type}:{node_id}"


def to_event(tenant_id: str, change: Change, now: datetime) -> Envelope:
    """The `goals.changes` event of one change; its id names tenant, node and revision (and
    the contract version, so a republished v2 is not taken for the v1 it replaces)."""
    data: NodeUpsertedV2 | NodeDeleted
    key = event_key(tenant_id, change.node_type, change.node_id)
    if change.definition is None:
        data = NodeDeleted(
            node_type=change.node_type, node_id=change.node_id, revision=change.revision
        )
        ident = f"{key}:r{change.revision}"
    else:
        data = NodeUpsertedV2(
            node_type=change.node_type,
            node_id=change.node_id,
            revision=change.revision,
            definition=normalise(change.node_type, change.node_id, change.definition),
        )
        ident = f"{key}:r{change.revision}:v2"
    return make_envelope(id=ident, tenant_id=tenant_id, producer="goals", time=now, data=data)


def summary(changes: list[Change]) -> dict[str, Any]:
    """How many nodes each action touched, and which (with the fields an update changed)."""
    out: dict[str, Any] = {"created": 0, "updated": 0, "deleted": 0, "changes": []}
    for c in changes:
        out[c.action + "d"] += 1
        item: dict[str, Any] = {
            "action": c.action,
            "node_type": c.node_type,
            "node_id": c.node_id,
            "revision": c.revision,
        }
        if c.action == "update":
            item["fields"] = field_changes(c.before, c.definition)
        out["changes"].append(item)
    return out


def field_changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """The top-level fields that differ: `{field: {"before": ..., "after": ...}}`."""
    old, new = before or {}, after or {}
    keys = [*old, *(k for k in new if k not in old)]
    return {
        k: {"before": old.get(k), "after": new.get(k)} for k in keys if old.get(k) != new.get(k)
    }
