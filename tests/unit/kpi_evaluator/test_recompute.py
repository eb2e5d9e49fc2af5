"""Which KPIs a strategy change affects, and that folding archived rows gives what folding the
live events gives (pure)."""

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from kpi_common.observed import Observed
from kpi_evaluator.definitions import Strategy
from kpi_evaluator.folding import fold
from kpi_evaluator.recompute import (
    CALENDAR,
    DEFINITION,
    NEW,
    ArchiveFolder,
    affected,
    reason,
    restrict,
)

from tests.support.strategy_events import typed

NODES: dict[tuple[str, str], dict[str, Any]] = {
    ("organization", "organization"): {"name": "x", "fiscal_year_start": "01-01"},
    ("kpi", "deals"): {
        "title": "Deals",
        "period": "quarter",
        "measure": {"metric": "deal", "aggregation": "count", "where": {"new": True}},
        "target": 10,
    },
    ("kpi", "amount"): {
        "title": "Amount",
        "period": "month",
        "measure": {"metric": "deal", "aggregation": "sum", "field": "amount"},
    },
    ("kpi", "per-deal"): {
        "title": "Amount per deal",
        "period": "month",
        "measure": {"formula": "amount / deals"},
    },
    ("kpi", "idea"): {"title": "No measure yet", "period": "month"},
}


def build(nodes: dict[tuple[str, str], dict[str, Any]]) -> Strategy:
    return Strategy.build("t", typed(nodes))


def changed(**edits: Any) -> dict[tuple[str, str], dict[str, Any]]:
    nodes = copy.deepcopy(NODES)
    for key, fn in edits.items():
        fn(nodes[("kpi", key)] if key != "organization" else nodes[("organization", key)])
    return nodes


def test_targets_titles_and_links_affect_no_actual() -> None:
    nodes = changed(deals=lambda d: d.update(target=99, title="Won deals", so_that="g"))
    assert affected(build(NODES), build(nodes)) == {}


def test_new_kpis_and_changed_measures_periods_and_formulas_are_affected() -> None:
    before = build({k: v for k, v in NODES.items() if k != ("kpi", "amount")})
    assert affected(before, build(NODES)) == {"amount": NEW}
    cases = [
        changed(deals=lambda d: d["measure"].update(where={"new": False})),
        changed(deals=lambda d: d.update(period="month")),
        changed(deals=lambda d: d.update(period={"rolling_days": 30})),
        changed(amount=lambda d: d["measure"].update(field="net")),
        changed(amount=lambda d: d["measure"].update(aggregation="avg")),
    ]
    for nodes in cases:
        assert set(affected(build(NODES), build(nodes)).values()) == {DEFINITION}
    formula = changed(**{"per-deal": lambda d: d["measure"].update(formula="deals / amount")})
    assert affected(build(NODES), build(formula)) == {"per-deal": DEFINITION}


RATIO = {
    "title": "Deals per lead",
    "period": "month",
    "measure": {
        "ratio": {
            "numerator": {"metric": "deal", "aggregation": "count"},
            "denominator": {"metric": "lead", "aggregation": "count"},
        }
    },
}
Edit = tuple[str, Callable[[dict[str, Any]], Any]]
# every kind of change issue 12 lists, each on its own: (KPI or "organization", edit)
EVERY_KIND: dict[str, Edit] = {
    "measure metric": ("amount", lambda d: d["measure"].update(metric="order")),
    "where": ("deals", lambda d: d["measure"].update(where={"new": False})),
    "field": ("amount", lambda d: d["measure"].update(field="net")),
    "aggregation": ("amount", lambda d: d["measure"].update(aggregation="avg")),
    "ratio numerator": (
        "ratio",
        lambda d: d["measure"]["ratio"]["numerator"].update(where={"new": True}),
    ),
    "ratio denominator": (
        "ratio",
        lambda d: d["measure"]["ratio"]["denominator"].update(metric="visit"),
    ),
    "formula": ("per-deal", lambda d: d["measure"].update(formula="amount / deals * 100")),
    "formula input": ("amount", lambda d: d["measure"].update(aggregation="max")),
    "period": ("deals", lambda d: d.update(period="year")),
    "rolling window": ("deals", lambda d: d.update(period={"rolling_days": 7})),
    "rolling window length": ("rolling", lambda d: d.update(period={"rolling_days": 30})),
    "fiscal calendar": ("organization", lambda d: d.update(fiscal_year_start="07-01")),
    "time zone": ("organization", lambda d: d.update(timezone="Asia/Tokyo")),
}
ROLLING = {
    "title": "Deals, last 7 days",
    "period": {"rolling_days": 7},
    "measure": {"metric": "deal", "aggregation": "count"},
}


@pytest.mark.parametrize("kind", sorted(EVERY_KIND))
def test_every_kind_of_change_recomputes_what_it_changes(kind: str) -> None:
    base = {**copy.deepcopy(NODES), ("kpi", "ratio"): RATIO, ("kpi", "rolling"): ROLLING}
    target, edit = EVERY_KIND[kind]
    nodes = copy.deepcopy(base)
    node = ("organization", target) if target == "organization" else ("kpi", target)
    edit(nodes[node])
    found = affected(build(base), build(nodes))
    if target == "organization":
        assert found == dict.fromkeys(["amount", "deals", "per-deal", "ratio", "rolling"], CALENDAR)
        return
    # a formula is computed from its inputs at evaluation: a changed input is recomputed on
    # its own, and the formula's periods are re-evaluated with it
    assert found == {target: DEFINITION}
    # and the same KPI added new, whatever it measures
    added = build({k: v for k, v in nodes.items() if k != node})
    assert affected(added, build(nodes)) == {target: NEW}


def test_a_new_calendar_affects_every_kpi_with_a_measure() -> None:
    for edit in ({"fiscal_year_start": "04-01"}, {"timezone": "America/New_York"}):
        nodes = changed(organization=lambda d, e=edit: d.update(e))
        found = affected(build(NODES), build(nodes))
        assert found == {"deals": CALENDAR, "amount": CALENDAR, "per-deal": CALENDAR}
        assert reason(found) == CALENDAR


def test_folding_archived_rows_equals_folding_the_events() -> None:
    strategy = build(NODES)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        Observed(
            f"e{i}",
            "t",
            "deal",
            float(i % 7),
            start + timedelta(hours=13 * i),
            {"new": i % 3 == 0, "amount": i % 11} if i % 5 else {},
            "api",
            start + timedelta(hours=13 * i, minutes=1),
        )
        for i in range(500)
    ]
    live = fold(events, {"t": restrict(strategy, ["deals", "amount"])})
    folder = ArchiveFolder(restrict(strategy, ["deals", "amount"]))
    rows = [
        (o.id, o.metric, o.value, orjson.dumps(o.dimensions).decode(), o.time, o.received_at)
        for o in events
    ]
    folder.fold(rows[:200])
    folder.fold(rows[200:])
    assert folder.folded.deltas == live.deltas
    assert folder.folded.touched == live.touched
    assert folder.folded.seen == live.seen
    assert restrict(strategy, ["deals"]).by_metric["deal"][0][0].id == "deals"
    assert len(restrict(strategy, ["deals"]).by_metric["deal"]) == 1
