"""`kpi alignment` takes overdue reviews from the notifier (`GET /v1/findings`), merged the
way the evaluator's and metrics-ingest's findings are; goals no longer reports them. A
notifier that does not answer costs one line (tests/e2e/test_alignment_data_cli.py runs the
merge against the real processes)."""

import pytest
from kpi_cli import data_health
from kpi_goals.alignment import RULES

from tests.unit.kpi_cli.test_failures import closed_port


def test_goals_has_no_review_rule_left() -> None:
    assert "review_overdue" not in {r.id for r in RULES}


def test_a_notifier_that_does_not_answer_costs_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("KPI_API_KEY", "k")
    monkeypatch.setenv("KPI_NOTIFIER_URL", url)
    assert data_health.notifier_findings() == []
    shown = " ".join(capsys.readouterr().out.split())  # one message, however wrapped
    assert shown.startswith(f"(without overdue reviews: cannot reach notifier at {url} (")
    assert shown.count("(without ") == 1


def test_each_silent_service_costs_one_line_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KPI_API_KEY", "k")
    for name in ("NOTIFIER", "EVALUATOR", "INGEST"):
        monkeypatch.setenv(f"KPI_{name}_URL", f"http://127.0.0.1:{closed_port()}")
    assert data_health.findings("review_overdue") == []
    shown = capsys.readouterr().out
    assert shown.count("(without ") == 3, shown
    assert "cannot reach notifier" in shown
