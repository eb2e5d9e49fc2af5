"""`kpi scorecard` renders the evaluator's answer as a rich tree."""

from io import StringIO
from typing import Any

from kpi_cli.evaluator import render, summary
from rich.console import Console

CARD: dict[str, Any] = {
    "unit": "sales",
    "period": "2026-Q1",
    "score": 0.9,
    "goals": [
        {
            "type": "goal",
            "id": "grow-revenue",
            "title": "Increase revenue",
            "score": 0.9,
            "children": [
                {
                    "type": "kpi",
                    "id": "new-clients",
                    "title": "New clients",
                    "status": "at_risk",
                    "score": 0.92,
                    "actual": 23.0,
                    "target": 50.0,
                    "expected": 25.0,
                    "forecast": 46.0,
                    "period": "2026-Q1",
                    "unit_of_measure": "clients",
                },
            ],
        }
    ],
    "units": [{"unit": "sales", "score": 0.92, "kpis": 1, "statuses": {"at_risk": 1}}],
    "perspectives": [],
}


def text_of(renderable: Any) -> str:
    out = StringIO()
    Console(file=out, width=200, color_system=None).print(renderable)
    return out.getvalue()


def test_the_tree_shows_status_score_actual_target_and_forecast() -> None:
    tree = text_of(render(CARD))
    assert "Scorecard sales 2026-Q1: score 90%" in tree
    assert "Increase revenue" in tree
    assert "at_risk   92%  New clients (new-clients, 2026-Q1): 23 / 50 clients" in tree
    assert "expected 25, forecast 46" in tree
    table = text_of(summary(CARD, "unit"))
    assert "at_risk 1" in table
