"""Alignment rules on the strategy definitions. Each rule is data (id, severity, what it
checks) plus one pure function from the cascade to findings; `RULES` is the catalogue that
`GET /v1/alignment` runs and docs/goals.md documents. Overdue reviews are the notifier's
finding (`GET /v1/findings` there): it records which reviews were held."""

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Literal

from kpi_goals.access import subtree
from kpi_goals.cascade import Cascade, build
from kpi_goals.contract import single_target
from kpi_goals.nodes import Node

Severity = Literal["error", "warning", "info"]
ADDITIVE = frozenset({"sum", "count"})


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    node_type: str
    node_id: str
    explanation: str
    suggested_fix: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Context:
    nodes: list[Node]
    cascade: Cascade
    max_kpis_per_objective: int

    def of_type(self, node_type: str) -> list[Node]:
        return [n for n in self.nodes if n.node_type == node_type]


Check = Callable[[Context, "Rule"], Iterator[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    description: str
    check: Check

    def finding(self, node: Node, explanation: str, fix: str) -> Finding:
        return Finding(self.id, self.severity, node.node_type, node.node_id, explanation, fix)


def _dead_end(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for kpi in ctx.of_type("kpi"):
        if not kpi.definition.get("so_that"):
            yield rule.finding(
                kpi,
                f"KPI {kpi.node_id} does not say what it is for (no so_that).",
                "Add `so_that:` naming the success factor, objective or goal it serves, "
                "or retire the KPI.",
            )


def _no_goal(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for node in ctx.cascade.nodes.values():
        if node.node_type == "goal" or ctx.cascade.reaches_goal(node.node_id):
            continue
        if node.node_type == "kpi" and not node.definition.get("so_that"):
            continue  # reported as a dead end
        yield rule.finding(
            node,
            f"{node.node_type} {node.node_id} does not lead up to any goal.",
            "Link it (supports / so_that) to something that serves a goal.",
        )


def _smart_gaps(node: Node) -> list[str]:
    d = node.definition
    gaps = [] if d.get("owner") else ["owner"]
    if node.node_type == "objective":
        return gaps + ([] if d.get("due") else ["due date"])
    if d.get("measure") is None:
        gaps.append("measure")
    if d.get("target") is None and not d.get("targets"):
        gaps.append("target")
    if d.get("period") is None and d.get("due") is None:
        gaps.append("period or due date")
    return gaps


def _smart(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for node in ctx.of_type("kpi") + ctx.of_type("objective"):
        gaps = _smart_gaps(node)
        if gaps:
            yield rule.finding(
                node,
                f"{node.node_type} {node.node_id} lacks: {', '.join(gaps)}. It is not "
                "SMART (specific, measurable, time-bound, with someone accountable).",
                f"Add the missing {', '.join(gaps)}.",
            )


def _adds_up(ctx: Context, rule: Rule) -> Iterator[Finding]:
    kpis = {k.node_id: k for k in ctx.of_type("kpi")}
    for parent in kpis.values():
        kids = [k for k in kpis.values() if k.definition.get("contributes_to") == parent.node_id]
        if not kids or _aggregation(parent) not in ADDITIVE:
            continue
        want = single_target(parent.definition)
        found = [single_target(k.definition) for k in kids]
        parts = [p for p in found if p is not None]
        if want is None or len(parts) != len(kids):
            continue
        total = sum(parts)
        if not math.isclose(total, want, rel_tol=1e-6, abs_tol=1e-9):
            names = " + ".join(f"{k.node_id} {_num(p)}" for k, p in zip(kids, parts, strict=True))
            yield rule.finding(
                parent,
                f"The contributing targets ({names} = {_num(total)}) do not add up to "
                f"{parent.node_id}'s target {_num(want)}.",
                f"Change the contributing targets by {_num(want - total)} in total, "
                f"or {parent.node_id}'s target to {_num(total)}.",
            )


def _aggregation(kpi: Node) -> str | None:
    measure = kpi.definition.get("measure")
    return measure.get("aggregation") if isinstance(measure, dict) else None


def _num(value: float) -> str:
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"


def _only_financial(ctx: Context, rule: Rule) -> Iterator[Finding]:
    units = ctx.of_type("unit")
    parents = {u.node_id: u.definition.get("parent") for u in units}
    for unit in units:
        scope = subtree(parents, unit.node_id)
        kpis = [k for k in ctx.of_type("kpi") if k.definition.get("unit") in scope]
        if kpis and all(k.definition.get("perspective") == "financial" for k in kpis):
            yield rule.finding(
                unit,
                f"All {len(kpis)} KPI(s) of unit {unit.node_id} (and below) are financial.",
                "Add customer, internal process, learning and growth or innovation KPIs "
                "for a balanced scorecard.",
            )


def _goal_without_kpi(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for goal in ctx.of_type("goal"):
        below = ctx.cascade.below(goal.node_id)
        if not any(ctx.cascade.nodes[n].node_type == "kpi" for n in below):
            yield rule.finding(
                goal,
                f"No KPI measures goal {goal.node_id}, directly or through what serves it.",
                "Add a KPI whose so_that chain leads to this goal.",
            )


def _too_many(ctx: Context, rule: Rule) -> Iterator[Finding]:
    limit = ctx.max_kpis_per_objective
    for objective in ctx.of_type("objective"):
        below = ctx.cascade.below(objective.node_id)
        count = sum(ctx.cascade.nodes[n].node_type == "kpi" for n in below)
        if count > limit:
            yield rule.finding(
                objective,
                f"{count} KPIs serve objective {objective.node_id}; the limit is {limit}.",
                "Keep the few KPIs that matter most; demote the rest to diagnostics.",
            )


RULES: tuple[Rule, ...] = (
    Rule("kpi_dead_end", "error", "A KPI with no so_that.", _dead_end),
    Rule("no_goal_reached", "warning", "A node whose links lead to no goal.", _no_goal),
    Rule(
        "smart_gap",
        "warning",
        "A KPI or objective lacking target, period/due, measure or owner.",
        _smart,
    ),
    Rule(
        "targets_do_not_add_up",
        "warning",
        "Contributing KPIs' targets differ from their "
        "parent's, for additive (sum, count) measures.",
        _adds_up,
    ),
    Rule(
        "only_financial_kpis",
        "info",
        "A unit whose KPIs (its subtree's) are all financial.",
        _only_financial,
    ),
    Rule("goal_without_kpi", "warning", "A goal with no KPI beneath it.", _goal_without_kpi),
    Rule("too_many_kpis", "warning", "More KPIs under one objective than the limit.", _too_many),
)


def check(nodes: list[Node], max_kpis_per_objective: int) -> list[Finding]:
    ctx = Context(nodes, build(nodes), max_kpis_per_objective)
    return [f for rule in RULES for f in rule.check(ctx, rule)]
