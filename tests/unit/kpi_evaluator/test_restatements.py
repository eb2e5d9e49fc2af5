"""Which changes are restatements, and which periods may still page."""

from datetime import UTC, datetime

import pytest
from kpi_evaluator.calendar import FiscalCalendar
from kpi_evaluator.restatements import cause, pages, restated

CAL = FiscalCalendar()
NOW = datetime(2026, 5, 10, tzinfo=UTC)  # 2026-Q2, 2026-05


def test_only_a_closed_period_whose_actual_changed_is_restated() -> None:
    q1_end = datetime(2026, 4, 1, tzinfo=UTC)
    q2_end = datetime(2026, 7, 1, tzinfo=UTC)
    assert restated(22, 50, q1_end, NOW)
    assert restated(None, 3, q1_end, NOW)
    assert not restated(22, 22, q1_end, NOW)
    assert not restated(0.1 + 0.2, 0.3, q1_end, NOW)  # float folding order is not a change
    assert not restated(22, 50, q2_end, NOW)  # open: it changes with every event
    assert restated(22, 50, q1_end, q1_end)  # closed from its end on


@pytest.mark.parametrize(
    ("kind", "key", "horizon", "expected"),
    [
        ("quarter", "2026-Q2", 1, True),
        ("quarter", "2026-Q1", 1, True),
        ("quarter", "2025-Q4", 1, False),
        ("quarter", "2025-Q4", 2, True),
        ("quarter", "2026-Q1", 0, False),
        ("quarter", "2026-Q3", 0, True),
        ("month", "2026-04", 1, True),
        ("month", "2026-03", 1, False),
        ("year", "2025", 1, True),
        ("year", "2024", 1, False),
    ],
)
def test_the_current_period_and_horizon_before_it_page(
    kind: str, key: str, horizon: int, expected: bool
) -> None:
    _, period = CAL.parse(key)
    assert pages(CAL, kind, period, NOW, horizon) is expected


def test_a_run_is_named_by_tenant_reason_and_time_unless_named() -> None:
    a = cause("t1", "late_events", NOW, None)
    assert a == cause("t1", "late_events", NOW, None)
    assert a.restatement_id != cause("t2", "late_events", NOW, None).restatement_id
    assert cause("t1", "recompute", NOW, "job-7").restatement_id == "job-7"


def test_an_unknown_reason_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="reason: 'oops' is not one of late_events"):
        cause("t1", "oops", NOW, None)
