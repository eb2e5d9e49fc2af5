"""The cascade as a graph: goals at the top, objectives and success factors below them,
KPIs at the leaves, linked upward by `supports` (and `so_that` for KPIs). A node may serve
several parents, so the tree repeats it under each. Pure functions on nodes."""

from dataclasses import dataclass, field
from typing import Any

from kpi_goals.document import as_list
from kpi_goals.nodes import Node

CASCADE_TYPES = ("goal", "objective", "success_factor", "kpi")


@dataclass
class Cascade:
    nodes: dict[str, Node] = field(default_factory=dict)
    parents: dict[str, list[str]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)

    def up(self, node_id: str) -> list[str]:
        return [p for p in self.parents.get(node_id, []) if p in self.nodes]

    def down(self, node_id: str) -> list[str]:
        return self.children.get(node_id, [])

    def of_type(self, node_type: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.node_type == node_type]

    def below(self, node_id: str) -> set[str]:
        """Every node beneath `node_id`, at any depth."""
        out: set[str] = set()
        todo = list(self.down(node_id))
        while todo:
            nxt = todo.pop()
            if nxt not in out:
                out.add(nxt)
                todo += self.down(nxt)
        return out

    def reaches_goal(self, node_id: str) -> bool:
        seen: set[str] = set()
        todo = [node_id]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            if self.nodes[current].node_type == "goal":
                return True
            todo += self.up(current)
        return False


def build(nodes: list[Node]) -> Cascade:
    cascade = Cascade()
    for node in nodes:
        if node.node_type in CASCADE_TYPES:
            cascade.nodes[node.node_id] = node
            link = "so_that" if node.node_type == "kpi" else "supports"
            cascade.parents[node.node_id] = as_list(node.definition.get(link))
    for child, parents in cascade.parents.items():
        for parent in parents:
            if parent in cascade.nodes:
                cascade.children.setdefault(parent, []).append(child)
    return cascade


def _summary(node: Node) -> dict[str, Any]:
    d = node.definition
    return {
        "node_type": node.node_type,
        "id": node.node_id,
        "title": d.get("title"),
        "unit": d.get("unit"),
        "owner": d.get("owner"),
    }


def tree(nodes: list[Node]) -> dict[str, Any]:
    """Goals at the top with everything that serves them beneath; what reaches no goal
    is listed as `unlinked`."""
    cascade = build(nodes)
    roots = [g for g in cascade.of_type("goal") if not cascade.up(g.node_id)]

    def branch(node_id: str, path: frozenset[str]) -> dict[str, Any]:
        kids = [k for k in cascade.down(node_id) if k not in path]
        return {
            **_summary(cascade.nodes[node_id]),
            "children": [branch(k, path | {k}) for k in kids],
        }

    org = next((n.definition for n in nodes if n.node_type == "organization"), {})
    unlinked = [_summary(n) for n in cascade.nodes.values() if not cascade.reaches_goal(n.node_id)]
    return {
        "organization": {k: org.get(k) for k in ("name", "vision", "mission")},
        "goals": [branch(g.node_id, frozenset({g.node_id})) for g in roots],
        "unlinked": unlinked,
    }


def chains(nodes: list[Node], kpi_id: str) -> list[list[dict[str, Any]]] | None:
    """Every "so that" path from the KPI up to a top goal; None if there is no such KPI."""
    return chains_in(build(nodes), kpi_id)


def chains_in(cascade: Cascade, kpi_id: str) -> list[list[dict[str, Any]]] | None:
    """`chains` in a cascade built once (for several KPIs)."""
    node = cascade.nodes.get(kpi_id)
    if node is None or node.node_type != "kpi":
        return None
    out: list[list[dict[str, Any]]] = []

    def climb(path: list[str]) -> None:
        ups = [p for p in cascade.up(path[-1]) if p not in path]
        if not ups:
            out.append([_summary(cascade.nodes[n]) for n in path])
        for parent in ups:
            climb([*path, parent])

    climb([kpi_id])
    return out
