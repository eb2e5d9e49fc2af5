"""What several pages share: statuses and scores found in the scorecard tree, short text."""

import textwrap
from collections.abc import Iterator

from kpi_web.models import KpiLeaf, Scorecard, ScoredNode
from kpi_web.status import worst


def walk(nodes: list[ScoredNode]) -> Iterator[ScoredNode | KpiLeaf]:
    for node in nodes:
        yield node
        for child in node.children:
            if isinstance(child, ScoredNode):
                yield from walk([child])
            else:
                yield child


def leaves(node: ScoredNode) -> Iterator[KpiLeaf]:
    return (n for n in walk([node]) if isinstance(n, KpiLeaf))


def node_statuses(scorecard: Scorecard) -> dict[str, tuple[str, float | None]]:
    """Each node's status (a KPI's own; an aim's the worst of its KPIs) and score."""
    found: dict[str, tuple[str, float | None]] = {k.id: (k.status, k.score) for k in scorecard.kpis}
    for node in walk(scorecard.goals):
        if isinstance(node, ScoredNode):
            found[node.id] = (worst([k.status for k in leaves(node)]), node.score)
    return found


def lines(text: str, width: int, count: int) -> list[str]:
    """`text` wrapped in at most `count` lines of `width` characters, the last one cut with
    an ellipsis when the text is longer."""
    wrapped = textwrap.wrap(text, width) or [""]
    if len(wrapped) <= count:
        return wrapped
    last = wrapped[count - 1]
    return [*wrapped[: count - 1], last[: width - 1].rstrip() + "…"]


def perspective_name(perspective: str | None) -> str:
    if not perspective:
        return "No perspective"
    return perspective.replace("_", " ").replace(" and ", " & ").capitalize()
