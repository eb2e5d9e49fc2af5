"""Checks across entries of a strategy document: duplicate ids, unknown references and
cycles. They read the raw document defensively, so they report alongside type errors."""

from collections.abc import Iterator
from typing import Any

from kpi_common.formula import FormulaError, references

Path_ = tuple[int | str, ...]
Problem = tuple[Path_, str]

CASCADE = ("goals", "objectives", "success_factors", "kpis")
NAMES = {
    "units": "unit",
    "people": "person",
    "goals": "goal",
    "objectives": "objective",
    "success_factors": "success factor",
    "kpis": "KPI",
    "reviews": "review",
}
# (section, field, sections its ids may name): the reference rules, as data.
REFERENCES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("units", "parent", ("units",)),
    ("units", "owner", ("people",)),
    ("people", "unit", ("units",)),
    *((s, "unit", ("units",)) for s in (*CASCADE, "reviews")),
    *((s, "owner", ("people",)) for s in CASCADE),
    ("goals", "supports", ("goals",)),
    ("objectives", "supports", ("goals", "objectives")),
    ("success_factors", "supports", ("goals", "objectives", "success_factors")),
    ("kpis", "so_that", ("goals", "objectives", "success_factors")),
    ("kpis", "contributes_to", ("kpis",)),
    ("reviews", "attendees", ("people",)),
)


def entries(raw: Any, section: str) -> Iterator[tuple[int, dict[str, Any]]]:
    items = raw.get(section) if isinstance(raw, dict) else None
    if isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield i, item


def ids(raw: Any, *sections: str) -> set[str]:
    return {e["id"] for s in sections for _, e in entries(raw, s) if isinstance(e.get("id"), str)}


def named(value: Any) -> Iterator[tuple[Path_, str]]:
    """The ids a reference field names: one string or a list of strings."""
    if isinstance(value, str):
        yield (), value
    elif isinstance(value, list):
        for j, item in enumerate(value):
            if isinstance(item, str):
                yield (j,), item


def duplicate_ids(raw: Any) -> list[Problem]:
    problems: list[Problem] = []
    groups = [(s,) for s in ("units", "people", "reviews")] + [CASCADE]
    for group in groups:
        seen: dict[str, str] = {}
        for section in group:
            for i, entry in entries(raw, section):
                ident = entry.get("id")
                if not isinstance(ident, str):
                    continue
                if ident in seen:
                    problems.append(((section, i, "id"), f"duplicate id {ident!r} ({seen[ident]})"))
                else:
                    seen[ident] = f"first used in {section}"
    return problems


def unknown_references(raw: Any) -> list[Problem]:
    problems: list[Problem] = []
    for section, field, targets in REFERENCES:
        known = ids(raw, *targets)
        what = _either([NAMES[t] for t in targets])
        for i, entry in entries(raw, section):
            for sub, ref in named(entry.get(field)):
                if ref not in known:
                    problems.append(((section, i, field, *sub), f"unknown {what} {ref!r}"))
    problems += _formula_references(raw)
    problems += _alert_references(raw)
    return problems


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _formula_references(raw: Any) -> list[Problem]:
    problems: list[Problem] = []
    kpis = ids(raw, "kpis")
    for i, kpi in entries(raw, "kpis"):
        formula = _formula(kpi)
        if formula is None:
            continue
        path: Path_ = ("kpis", i, "measure", "formula")
        try:
            used = references(formula)
        except FormulaError as exc:
            problems.append((path, f"invalid formula: {exc}"))
            continue
        problems += [(path, f"unknown KPI {ref!r} in formula") for ref in used if ref not in kpis]
    return problems


def _formula(kpi: dict[str, Any]) -> str | None:
    measure = kpi.get("measure")
    formula = measure.get("formula") if isinstance(measure, dict) else None
    return formula if isinstance(formula, str) else None


def _alert_references(raw: Any) -> list[Problem]:
    alerts = raw.get("alerts") if isinstance(raw, dict) else None
    if not isinstance(alerts, dict):
        return []
    channels = alerts.get("channels")
    named_channels = set(channels) if isinstance(channels, dict) else set()
    targets = {"owner"} | ids(raw, "people") | named_channels
    units, kpis = ids(raw, "units"), ids(raw, "kpis")
    problems: list[Problem] = []
    for i, rule in entries(alerts, "inhibit"):
        for side in ("source", "target"):
            path: Path_ = ("alerts", "inhibit", i, side)
            problems += _match_references(path, rule.get(side), units, kpis)
    for i, route in entries(alerts, "routes"):
        where: Path_ = ("alerts", "routes", i, "match")
        problems += _match_references(where, route.get("match"), units, kpis)
        for sub, ref in named(route.get("notify")):
            if ref not in targets:
                problems.append(
                    (
                        ("alerts", "routes", i, "notify", *sub),
                        f"unknown channel or person {ref!r} (or use 'owner')",
                    )
                )
    return problems


def _match_references(path: Path_, match: Any, units: set[str], kpis: set[str]) -> list[Problem]:
    """Each unit or KPI a route's match (or an inhibit rule's side) names must exist."""
    if not isinstance(match, dict):
        return []
    return [
        ((*path, key, *sub), f"unknown {what} {ref!r}")
        for key, known, what in (("unit", units, "unit"), ("kpi", kpis, "KPI"))
        for sub, ref in named(match.get(key))
        if ref not in known
    ]


def cycles(raw: Any) -> list[Problem]:
    """Every cycle in the unit tree, the cascade links, contributions and formulas."""
    graphs = [
        _edges(raw, ("units",), "parent"),
        _edges(raw, ("goals", "objectives", "success_factors"), "supports"),
        _edges(raw, ("kpis",), "contributes_to"),
        _formula_edges(raw),
    ]
    problems: list[Problem] = []
    for graph in graphs:
        problems += _find_cycles(graph)
    return problems


Graph = dict[str, tuple[Path_, list[str]]]


def _edges(raw: Any, sections: tuple[str, ...], field: str) -> Graph:
    graph: Graph = {}
    for section in sections:
        for i, entry in entries(raw, section):
            if isinstance(entry.get("id"), str):
                graph[entry["id"]] = ((section, i, field), [r for _, r in named(entry.get(field))])
    return graph


def _formula_edges(raw: Any) -> Graph:
    graph: Graph = {}
    for i, kpi in entries(raw, "kpis"):
        formula = _formula(kpi)
        if formula is not None and isinstance(kpi.get("id"), str):
            try:
                graph[kpi["id"]] = (("kpis", i, "measure", "formula"), references(formula))
            except FormulaError:
                continue
    return graph


def _find_cycles(graph: Graph) -> list[Problem]:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    found: list[Problem] = []
    reported: set[frozenset[str]] = set()

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ((), []))[1]:
            if state.get(nxt) == 1:
                loop = [*trail[trail.index(nxt) :], nxt]
                if frozenset(loop) not in reported:
                    reported.add(frozenset(loop))
                    found.append((graph[nxt][0], "cycle: " + " -> ".join(loop)))
            elif nxt in graph and state.get(nxt) is None:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in graph:
        if state.get(start) is None:
            visit(start, [start])
    return found
