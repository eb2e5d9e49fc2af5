"""The so-that chain of a KPI up to a goal (pure): the KPI's first `so_that` link, then
each node's first `supports` link, until a goal (or a node that supports nothing)."""

from kpi_common.definitions import Definition, GoalDef, ObjectiveDef, SuccessFactorDef

from kpi_evaluator.definitions import KpiDef, Strategy

LINKABLE = ("success_factor", "objective", "goal")  # then a KPI (Strategy.kpis)
Linkable = SuccessFactorDef | ObjectiveDef | GoalDef | KpiDef


def find_node(strategy: Strategy, node_id: str) -> tuple[str, Linkable] | None:
    for node_type in LINKABLE:
        node: Definition | None = strategy.node(node_type, node_id)
        if isinstance(node, Linkable):
            return node_type, node
    kpi = strategy.kpis.get(node_id)
    return None if kpi is None else ("kpi", kpi)


def _links(node: Linkable) -> list[str]:
    return node.so_that if isinstance(node, KpiDef) else node.supports


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
        out.append((node_type, links[0], node.title))
        if node_type == "goal":
            break
        links = _links(node)
    return out
