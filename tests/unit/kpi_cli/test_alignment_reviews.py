"""`kpi alignment` reports overdue reviews as the notifier knows them (it records which
were held), in place of goals' finding from the definition's `next` date alone."""

from typing import Any

from kpi_cli.goals import _with_review_status


def _finding(rule: str, node_id: str) -> dict[str, Any]:
    return {"severity": "warning", "rule": rule, "node_type": "review", "node_id": node_id,
            "explanation": "...", "suggested_fix": "..."}  # fmt: skip


def _review(review_id: str, overdue: bool, due: str) -> dict[str, Any]:
    return {"review_id": review_id, "next_due": due, "overdue": overdue,
            "days_overdue": 3 if overdue else 0}  # fmt: skip


def test_a_review_recorded_as_held_is_no_longer_overdue() -> None:
    goals = [_finding("review_overdue", "qbr"), _finding("smart_gap", "kpi-x")]
    notifier = [_review("qbr", False, "2026-06-30")]
    assert _with_review_status(goals, notifier) == [_finding("smart_gap", "kpi-x")]


def test_the_notifiers_overdue_reviews_are_reported() -> None:
    goals = [_finding("review_overdue", "qbr")]
    [found] = _with_review_status(goals, [_review("qbr", True, "2026-03-31")])
    assert (found["rule"], found["node_id"]) == ("review_overdue", "qbr")
    assert "due on 2026-03-31 (3 day(s) ago) and is not recorded as held" in found["explanation"]
    assert "kpi review-held qbr" in found["suggested_fix"]


def test_without_the_notifier_goals_findings_stay() -> None:
    goals = [_finding("review_overdue", "qbr")]
    assert _with_review_status(goals, None) == goals
