"""A unit's balanced scorecard: its KPIs grouped by perspective (financial, customer,
internal process, learning and growth, ...), each with actual, target, expected pace,
forecast, status and score; and the units list that leads to each scorecard."""

from dataclasses import dataclass

from kpi_web.gather import UnitData
from kpi_web.models import KpiLeaf, Strategy, UnitGroup
from kpi_web.pages.common import perspective_name
from kpi_web.status import Look, look

# the balanced scorecard's own order; any other perspective follows, then none
ORDER = ("financial", "customer", "internal_process", "learning_and_growth")


@dataclass(frozen=True)
class Row:
    kpi: KpiLeaf
    look: Look


@dataclass(frozen=True)
class Perspective:
    name: str
    score: float | None
    counts: list[tuple[Look, int]]
    rows: list[Row]


@dataclass(frozen=True)
class ScorecardView:
    unit_id: str
    unit_name: str
    score: float | None
    period: str | None
    perspectives: list[Perspective]
    children: list[tuple[str, str]]  # (id, name) of the units below


@dataclass(frozen=True)
class UnitLine:
    id: str
    name: str
    depth: int
    group: UnitGroup | None


def _rank(perspective: str | None) -> tuple[int, str]:
    key = perspective or "~"
    return (ORDER.index(key) if key in ORDER else len(ORDER), key)


def _counts(rows: list[Row]) -> list[tuple[Look, int]]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.look.status] = counts.get(row.look.status, 0) + 1
    return [(look(status), n) for status, n in counts.items()]


def build(data: UnitData) -> ScorecardView:
    card, strategy = data.scorecard, data.strategy
    by_perspective: dict[str | None, list[Row]] = {}
    for kpi in card.kpis:
        by_perspective.setdefault(kpi.perspective, []).append(Row(kpi, look(kpi.status)))
    scores = {p.perspective: p.score for p in card.perspectives}
    perspectives = [
        Perspective(perspective_name(p), scores.get(p or ""), _counts(rows), rows)
        for p, rows in sorted(by_perspective.items(), key=lambda item: _rank(item[0]))
    ]
    unit = strategy.unit(data.unit_id)
    children = [(u.id, u.name or u.id) for u in strategy.units if u.parent == data.unit_id]
    name = (unit.name if unit else None) or data.unit_id
    return ScorecardView(data.unit_id, name, card.score, card.period, perspectives, children)


def units(strategy: Strategy, groups: list[UnitGroup]) -> list[UnitLine]:
    """Every unit of the strategy, depth first from the roots, with its scorecard summary."""
    found = {g.unit: g for g in groups}
    below: dict[str | None, list[str]] = {}
    for u in strategy.units:
        below.setdefault(u.parent, []).append(u.id)
    names = {u.id: u.name or u.id for u in strategy.units}
    lines: list[UnitLine] = []

    def visit(unit_id: str, depth: int) -> None:
        lines.append(UnitLine(unit_id, names[unit_id], depth, found.get(unit_id)))
        for child in below.get(unit_id, []):
            visit(child, depth + 1)

    roots = [u.id for u in strategy.units if u.parent is None or u.parent not in names]
    for root in roots:
        visit(root, 0)
    return lines
