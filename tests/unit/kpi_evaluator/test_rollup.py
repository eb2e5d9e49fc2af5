"""Scores rolled up the acme cascade and summarised per unit and perspective."""

import pytest
from kpi_evaluator.definitions import Strategy
from kpi_evaluator.rollup import KpiResult, scorecard

from tests.support import strategy_events

STRATEGY = Strategy.build("t", strategy_events.definitions())


def result(kpi: str, status: str, score: float | None) -> KpiResult:
    return KpiResult(kpi, "2026-Q1", status, score, 1.0, 1.0, 1.0, 1.0)


RESULTS = {
    "new-clients": result("new-clients", "at_risk", 0.9),
    "qualified-leads": result("qualified-leads", "off_track", 0.5),
    "revenue": result("revenue", "on_track", 1.0),
    "revenue-emea": result("revenue-emea", "on_track", 1.0),
    "revenue-amer": result("revenue-amer", "at_risk", 0.8),
    "ar-days": result("ar-days", "stale", None),
}


def find(nodes: list[dict], node_id: str) -> dict:  # type: ignore[type-arg]
    for n in nodes:
        if n["id"] == node_id:
            return n
        found = find(n.get("children", []), node_id)
        if found:
            return found
    return {}


def test_scores_roll_up_through_success_factors_objectives_and_goals() -> None:
    card = scorecard(STRATEGY, RESULTS)
    # strong-pipeline: mean of new-clients 0.9 and qualified-leads 0.5 = 0.7
    assert find(card["goals"], "strong-pipeline")["score"] == pytest.approx(0.7)
    # win-new-clients: strong-pipeline 0.7 and generate-leads (no scored KPI) -> 0.7
    assert find(card["goals"], "win-new-clients")["score"] == pytest.approx(0.7)
    # grow-revenue: revenue 1, revenue-emea 1, revenue-amer 0.8, win-new-clients 0.7,
    # collect-faster (ar-days stale: no score) -> (1 + 1 + 0.8 + 0.7) / 4 = 0.875
    assert find(card["goals"], "grow-revenue")["score"] == pytest.approx(0.875)


def test_balanced_scorecard_per_unit_and_perspective() -> None:
    card = scorecard(STRATEGY, RESULTS, unit="sales")
    assert sorted(k["id"] for k in card["kpis"]) == ["new-clients", "revenue-amer", "revenue-emea"]
    units = {u["unit"]: u for u in card["units"]}
    assert units["sales-amer"]["score"] == pytest.approx(0.8)
    # sales holds new-clients itself and the two regions below it
    assert units["sales"]["kpis"] == 3
    assert units["sales"]["score"] == pytest.approx((0.9 + 0.8 + 1.0) / 3)
    sales = {p["perspective"]: p["score"] for p in units["sales"]["perspectives"]}
    assert sales == {"customer": pytest.approx(0.9), "financial": pytest.approx(0.9)}
    acme = {u["unit"]: u for u in scorecard(STRATEGY, RESULTS)["units"]}["acme"]
    assert acme["kpis"] == 14
    assert card["score"] == pytest.approx((0.9 + 0.8 + 1.0) / 3)
    perspectives = {p["perspective"]: p for p in scorecard(STRATEGY, RESULTS)["perspectives"]}
    assert perspectives["financial"]["score"] == pytest.approx((1 + 1 + 0.8) / 3)
    assert perspectives["internal_process"]["statuses"] == {"stale": 1}
