"""The strategy map: goals, objectives, success factors and KPIs in four columns, KPIs on
the left, each linked to what it serves ("so that ...") on its right; each node marked
with its status (word, shape and colour) and its score."""

from dataclasses import dataclass

from kpi_web.gather import MapData
from kpi_web.models import Aim, KpiDoc
from kpi_web.pages.common import lines, node_statuses
from kpi_web.status import Look, look

COLUMNS = ("kpi", "success_factor", "objective", "goal")
HEADINGS = {"kpi": "KPIs", "success_factor": "Success factors", "objective": "Objectives",
            "goal": "Goals"}  # fmt: skip
KINDS = {"kpi": "KPI", "success_factor": "Success factor", "objective": "Objective",
         "goal": "Goal"}  # fmt: skip
NODE_W, NODE_H, GAP_X, GAP_Y, TOP, LEFT = 230, 62, 90, 14, 40, 10


@dataclass(frozen=True)
class Node:
    kind: str
    id: str
    title: str
    title_lines: list[str]
    look: Look
    score: float | None
    x: float
    y: float
    href: str | None


@dataclass(frozen=True)
class Link:
    source: str
    target: str
    d: str  # SVG path data


@dataclass(frozen=True)
class Column:
    heading: str
    x: float


@dataclass(frozen=True)
class MapView:
    nodes: list[Node]
    links: list[Link]
    columns: list[Column]
    width: float
    height: float
    node_w: int
    node_h: int
    organization: str | None
    serves: dict[str, list[str]]  # node id -> the titles of what it serves


Entry = Aim | KpiDoc


def _targets(entry: Entry) -> list[str]:
    return entry.so_that if isinstance(entry, KpiDoc) else entry.supports


def _entries(data: MapData) -> dict[str, list[Entry]]:
    s = data.strategy
    return {"goal": list(s.goals), "objective": list(s.objectives),
            "success_factor": list(s.success_factors), "kpi": list(s.kpis)}  # fmt: skip


def _order(columns: dict[str, list[Entry]]) -> dict[str, list[Entry]]:
    """Goals as written; each column to the left sorted by the mean place of what its
    entries serve (fewer crossing links), ties kept in document order."""
    place: dict[str, float] = {}
    ordered: dict[str, list[Entry]] = {}
    for kind in reversed(COLUMNS):
        entries = columns[kind]

        def rank(entry: Entry) -> float:
            spots = [place[t] for t in _targets(entry) if t in place]
            return sum(spots) / len(spots) if spots else float("inf")

        ordered[kind] = sorted(entries, key=rank) if kind != "goal" else entries
        for i, entry in enumerate(ordered[kind]):
            place[entry.id] = i / max(len(ordered[kind]), 1)
    return ordered


def build(data: MapData) -> MapView:
    ordered = _order(_entries(data))
    statuses = node_statuses(data.scorecard)
    tallest = max((len(v) for v in ordered.values()), default=0)
    height = TOP + tallest * (NODE_H + GAP_Y) + 10
    nodes: list[Node] = []
    for col, kind in enumerate(COLUMNS):
        entries = ordered[kind]
        offset = (tallest - len(entries)) * (NODE_H + GAP_Y) / 2
        for row, entry in enumerate(entries):
            status, score = statuses.get(entry.id, ("no_data", None))
            x = LEFT + col * (NODE_W + GAP_X)
            y = TOP + offset + row * (NODE_H + GAP_Y)
            href = f"/kpis/{entry.id}" if kind == "kpi" else None
            title_lines = lines(entry.title, 32, 2)  # 12 px text in a 230 px box
            nodes.append(
                Node(kind, entry.id, entry.title, title_lines, look(status), score, x, y, href)
            )
    columns = [Column(HEADINGS[k], LEFT + i * (NODE_W + GAP_X)) for i, k in enumerate(COLUMNS)]
    width = LEFT + len(COLUMNS) * (NODE_W + GAP_X) - GAP_X + 10
    name = data.strategy.organization.name if data.strategy.organization else None
    links = _links(nodes, ordered)
    titles = {n.id: n.title for n in nodes}
    serves: dict[str, list[str]] = {}
    for link in links:
        serves.setdefault(link.source, []).append(titles[link.target])
    return MapView(nodes, links, columns, width, height, NODE_W, NODE_H, name, serves)


def _links(nodes: list[Node], ordered: dict[str, list[Entry]]) -> list[Link]:
    at = {n.id: n for n in nodes}
    found: list[Link] = []
    for kind in COLUMNS:
        for entry in ordered[kind]:
            for target in _targets(entry):
                if target in at:
                    found.append(Link(entry.id, target, _curve(at[entry.id], at[target])))
    return found


def _curve(source: Node, target: Node) -> str:
    x1, y1 = source.x + NODE_W, source.y + NODE_H / 2
    x2, y2 = target.x - 4, target.y + NODE_H / 2
    mid = (x1 + x2) / 2
    return f"M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
