"""Each aggregation over the same events, folded in different orders."""

from datetime import UTC, datetime, timedelta

import pytest
from kpi_evaluator.aggregation import AggState, merge_all

T0 = datetime(2026, 2, 1, tzinfo=UTC)
# (value, minutes after T0, id): the latest by event time is 7.0 at +30 min.
EVENTS = [(10.0, 0, "a"), (4.0, 10, "b"), (7.0, 30, "c"), (19.0, 20, "d")]


def states() -> list[AggState]:
    return [AggState.of(v, T0 + timedelta(minutes=m), i) for v, m, i in EVENTS]


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [("sum", 40.0), ("count", 4.0), ("avg", 10.0), ("min", 4.0), ("max", 19.0), ("last", 7.0)],
)
def test_each_aggregation_is_order_independent(aggregation: str, expected: float) -> None:
    forward = merge_all(states())
    backward = merge_all(list(reversed(states())))
    assert forward is not None
    assert backward is not None
    assert forward.value(aggregation) == expected
    assert backward.value(aggregation) == expected


def test_last_breaks_time_ties_by_event_id() -> None:
    a = AggState.of(1.0, T0, "evt-1")
    b = AggState.of(2.0, T0, "evt-2")
    assert a.merge(b).value("last") == 2.0
    assert b.merge(a).value("last") == 2.0


def test_empty_and_unknown() -> None:
    assert merge_all([]) is None
    with pytest.raises(ValueError, match="unknown aggregation"):
        AggState.of(1.0, T0, "x").value("median")


def test_folding_skips_a_time_the_calendar_cannot_place_instead_of_failing() -> None:
    from kpi_evaluator.definitions import Strategy
    from kpi_evaluator.folding import Observation, fold

    from tests.support import strategy_events

    doc = strategy_events.load()
    doc["organization"] = {"name": "x", "fiscal_year_start": "04-01"}
    strategy = Strategy.build("t", strategy_events.definitions(doc))
    ancient = datetime(1, 1, 2, tzinfo=UTC)  # fiscal year 0 does not exist
    good = Observation("a", "t", "erp.expense.posted", 5.0, T0, {}, "api", T0)
    bad = Observation("b", "t", "erp.expense.posted", 7.0, ancient, {}, "api", T0)
    folded = fold([good, bad], {"t": strategy})
    assert folded.unplaceable == 1
    assert {k[2:]: s.total for k, s in folded.deltas.items()} == {
        ("value", "2025"): 5.0,  # operating costs: fiscal 2025 runs 2025-04-01..2026-03-31
        ("day", "2026-02-01"): 5.0,  # and its day, for the recent trend
    }
