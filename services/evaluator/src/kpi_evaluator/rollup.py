"""Roll-ups of KPI scores up the cascade and a balanced scorecard per unit (pure).

- A KPI's score (0..1) comes from its status (see status.py); no_data and stale have none.
- A success factor, objective or goal scores the weighted mean of its children that have a
  score: KPIs linked to it by `so_that` (weight: the KPI's `weight`, default 1) and nodes
  that `support` it (weight 1). A node without any scored child has no score.
- Per unit (the KPIs of the unit and of the units below it, split by perspective too: a
  balanced scorecard per unit) and per perspective: the mean KPI score and a count by status.
  A KPI's perspective is its own, else that of the goal at the end of its so-that chain.
"""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kpi_common.definitions import Definition, GoalDef, ObjectiveDef, SuccessFactorDef, UnitDef

from kpi_evaluator.chain import so_that_chain
from kpi_evaluator.definitions import Strategy

Titled = GoalDef | ObjectiveDef | SuccessFactorDef  # the nodes a KPI serves, up the cascade


@dataclass(frozen=True)
class KpiResult:
    kpi_id: str
    period: str
    status: str
    score: float | None
    actual: float | None
    target: float | None
    expected: float | None
    forecast: float | None


def unit_subtree(strategy: Strategy, unit: str) -> set[str]:
    parents = {d.id: d.parent for d in strategy.nodes.values() if isinstance(d, UnitDef)}
    return {u for u in parents if _under(parents, u, unit)}


def _under(parents: Mapping[str, Any], unit: str, root: str) -> bool:
    seen: set[str] = set()
    current: Any = unit
    while current is not None and current not in seen:
        if current == root:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def _mean(pairs: list[tuple[float, float]]) -> float | None:
    total = sum(w for w, _ in pairs)
    return None if total <= 0 else sum(w * s for w, s in pairs) / total


def perspective_of(strategy: Strategy, kpi_id: str) -> str | None:
    own = strategy.kpis[kpi_id].perspective
    if own:
        return own
    chain = so_that_chain(strategy, kpi_id)
    if chain and chain[-1][0] == "goal":
        goal = strategy.node("goal", chain[-1][1])
        if isinstance(goal, GoalDef) and goal.perspective is not None:
            return goal.perspective.value
    return None


class Scorecard:
    def __init__(
        self, strategy: Strategy, results: Mapping[str, KpiResult], kpis: set[str]
    ) -> None:
        self.s = strategy
        self.results = results
        self.kpis = kpis

    def _kpi_leaf(self, kpi_id: str) -> dict[str, Any]:
        kpi = self.s.kpis[kpi_id]
        r = self.results.get(kpi_id)
        return {
            "type": "kpi",
            "id": kpi_id,
            "title": kpi.title,
            "unit": kpi.unit,
            "owner": kpi.owner,
            "perspective": perspective_of(self.s, kpi_id),
            "unit_of_measure": kpi.unit_of_measure,
            "weight": kpi.weight,
            "period": r.period if r else None,
            "status": r.status if r else "no_data",
            "score": r.score if r else None,
            "actual": r.actual if r else None,
            "target": r.target if r else None,
            "expected": r.expected if r else None,
            "forecast": r.forecast if r else None,
        }

    def node(self, node_type: str, node_id: str, path: frozenset[str]) -> dict[str, Any] | None:
        d = self.s.node(node_type, node_id)
        children: list[dict[str, Any]] = []
        weights: list[tuple[float, float]] = []
        for kpi in sorted(self.kpis):
            if node_id in self.s.kpis[kpi].so_that:
                leaf = self._kpi_leaf(kpi)
                children.append(leaf)
                if leaf["score"] is not None:
                    weights.append((self.s.kpis[kpi].weight, leaf["score"]))
        for child_type in ("objective", "success_factor"):
            for (t, cid), cd in sorted(self.s.nodes.items()):
                if t == child_type and node_id in _supports(cd) and cid not in path:
                    sub = self.node(t, cid, path | {cid})
                    if sub is not None:
                        children.append(sub)
                        if sub["score"] is not None:
                            weights.append((1.0, sub["score"]))
        if not children:
            return None
        title = d.title if isinstance(d, Titled) else node_id
        return {
            "type": node_type,
            "id": node_id,
            "title": title,
            "score": _mean(weights),
            "children": children,
        }

    def tree(self) -> list[dict[str, Any]]:
        goals = sorted(nid for (t, nid) in self.s.nodes if t == "goal")
        return [n for g in goals if (n := self.node("goal", g, frozenset({g}))) is not None]

    def by_perspective(self, kpis: list[str] | None = None) -> list[dict[str, Any]]:
        groups: dict[str, list[str]] = {}
        for kpi in sorted(self.kpis if kpis is None else kpis):
            groups.setdefault(perspective_of(self.s, kpi) or "(none)", []).append(kpi)
        return [self._group("perspective", name, ids) for name, ids in sorted(groups.items())]

    def by_unit(self) -> list[dict[str, Any]]:
        """One balanced scorecard per unit: the KPIs of the unit and of the units below it."""
        out = []
        for unit in sorted(nid for (t, nid) in self.s.nodes if t == "unit"):
            below = unit_subtree(self.s, unit)
            ids = [k for k in sorted(self.kpis) if self.s.kpis[k].unit in below]
            if ids:
                out.append(
                    {**self._group("unit", unit, ids), "perspectives": self.by_perspective(ids)}
                )
        return out

    def _group(self, key: str, name: str, ids: list[str]) -> dict[str, Any]:
        results = [self.results.get(i) for i in ids]
        scores = [(1.0, r.score) for r in results if r and r.score is not None]
        statuses = Counter(r.status if r else "no_data" for r in results)
        return {key: name, "score": _mean(scores), "kpis": len(ids), "statuses": dict(statuses)}


def _supports(d: Definition) -> list[str]:
    return d.supports if isinstance(d, Titled) else []


def scorecard(
    strategy: Strategy, results: Mapping[str, KpiResult], unit: str | None = None
) -> dict[str, Any]:
    units = unit_subtree(strategy, unit) if unit else None
    kpis = {k for k, d in strategy.kpis.items() if units is None or d.unit in units}
    card = Scorecard(strategy, results, kpis)
    scored = [(1.0, r.score) for k, r in results.items() if k in kpis and r.score is not None]
    return {
        "unit": unit,
        "score": _mean(scored),
        "goals": card.tree(),
        "units": card.by_unit(),
        "perspectives": card.by_perspective(),
        "kpis": [card._kpi_leaf(k) for k in sorted(kpis)],
    }
