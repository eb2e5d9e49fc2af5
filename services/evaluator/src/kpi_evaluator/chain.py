"""The so-that chain of a KPI up to a goal (pure): the KPI's first `so_that` link, then
each node's first `supports` link, until a goal (or a node that supports nothing)."""

from kpi_evaluator.definitions import Strategy

LINKABLE = ("success_factor", "objective", "goal", "kpi")


def find_node(strategy: Strategy, node_id: str) -> tuple[str, dict[str, object]] | None:
    for node_type in LINKABLE:
        node = strategy.node(node_type, node_id)
        if node is not None:
            return node_type, dict(node)
    return None


def so_that_chain(strategy: Strategy, kpi_id: str) -> list[tuple[str, str, str]]:
    """(node_type, node_id, title) from the KPI's first link up to the goal."""
    kpi = strategy.kpis.get(kpi_id)
    if kpi is None:
        return []
    out: list[tuple[str, str, str]] = []
    seen = {kpi_id}
    links = kpi.so_that
    while links and links[0] not in seen:
        found = find_node(strategy, links[0])
        if found is None:
            break
        node_type, node = found
        seen.add(links[0])
        out.append((node_type, links[0], str(node.get("title", links[0]))))
        if node_type == "goal":
            break
        raw = node.get("supports") or node.get("so_that") or []
        links = [raw] if isinstance(raw, str) else [str(x) for x in raw]  # type: ignore[attr-defined]
    return out
