"""Actuals from stored bucket states: rolling windows, ratios and formulas over KPIs."""

from datetime import UTC, datetime
from typing import Any

from kpi_common.definitions import Definition
from kpi_evaluator.actuals import actual, needed, orphans, window
from kpi_evaluator.aggregation import AggState
from kpi_evaluator.definitions import Strategy
from kpi_goals.contract import normalise

T = datetime(2026, 3, 1, tzinfo=UTC)


def typed(entries: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], Definition]:
    """Document entries as goals publishes them (normalised, typed)."""
    return {
        (t, i): normalise(t, i, d if t == "organization" else {"id": i, **d})
        for (t, i), d in entries.items()
    }


NODES = typed(
    {
        ("organization", "organization"): {"name": "x", "timezone": "Europe/Berlin"},
        ("kpi", "signups-7d"): {
            "title": "Signups, last 7 days",
            "period": {"rolling_days": 7},
            "measure": {"metric": "signup", "aggregation": "sum"},
            "target": 70,
        },
        ("kpi", "a"): {
            "title": "a",
            "period": "month",
            "measure": {"metric": "m", "aggregation": "sum"},
        },
        ("kpi", "b"): {
            "title": "b",
            "period": "month",
            "measure": {"metric": "n", "aggregation": "max"},
        },
        ("kpi", "f"): {"title": "f", "period": "month", "measure": {"formula": "(a - b) / b"}},
        ("kpi", "r"): {
            "title": "r",
            "period": "month",
            "measure": {
                "ratio": {
                    "numerator": {"metric": "m", "aggregation": "count"},
                    "denominator": {"metric": "n", "aggregation": "last"},
                }
            },
        },
    }
)
S = Strategy.build("t", NODES)


def state(total: float, count: int = 1) -> AggState:
    return AggState(count, total, total, total, total, T, "x")


def test_a_rolling_window_sums_the_last_seven_local_days() -> None:
    kpi = S.kpis["signups-7d"]
    day = S.calendar.bucket("day", datetime(2026, 3, 10, 12, tzinfo=UTC))
    states = {("t", "signups-7d", "value", f"2026-03-{d:02d}"): state(d) for d in range(1, 11)}
    # days 4..10 -> 4+5+6+7+8+9+10 = 49
    assert actual(S, kpi, day, states) == 49
    span = window(S, kpi, day)
    assert span.start == datetime(2026, 3, 3, 23, tzinfo=UTC)  # 2026-03-04 00:00 in Berlin
    assert span.end == day.end
    assert len(needed(S, kpi, day)) == 7


def test_ratio_and_formula_over_other_kpis() -> None:
    month = S.calendar.bucket("month", datetime(2026, 3, 10, tzinfo=UTC))
    states = {
        ("t", "a", "value", "2026-03"): state(30),
        ("t", "b", "value", "2026-03"): state(10),
        ("t", "r", "num", "2026-03"): state(6, count=3),
        ("t", "r", "den", "2026-03"): state(12),
    }
    assert actual(S, S.kpis["f"], month, states) == 2  # (30 - 10) / 10
    assert actual(S, S.kpis["r"], month, states) == 0.25  # 3 / 12
    assert needed(S, S.kpis["f"], month) == {("a", "2026-03"), ("b", "2026-03")}
    assert actual(S, S.kpis["f"], month, {}) is None


def test_rows_left_by_an_older_calendar_or_a_deleted_kpi_are_orphans() -> None:
    month = S.calendar.bucket("month", datetime(2026, 3, 10, tzinfo=UTC))
    utc_month = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    rows = [
        ("a", "2026-03", month.start, month.end),  # Berlin month: current
        ("b", "2026-03", *utc_month),  # the same key on an older (UTC) calendar
        ("gone", "2026-03", month.start, month.end),  # a deleted KPI
        ("a", "2026-Q1", month.start, month.end),  # a period kind the KPI no longer has
    ]
    assert orphans(S, rows) == [("b", "2026-03"), ("gone", "2026-03"), ("a", "2026-Q1")]


def test_a_kpi_without_a_measure_is_kept_and_never_has_a_value() -> None:
    nodes = typed({("kpi", "unmeasured"): {"title": "x", "target": 3}})
    strategy = Strategy.build("t", nodes)
    kpi = strategy.kpis["unmeasured"]
    assert (kpi.kind, kpi.cumulative, kpi.components) == ("none", False, {})
    assert actual(strategy, kpi, strategy.calendar.bucket("month", T), {}) is None
    assert str(strategy.calendar.tz) == "UTC"  # no organization node yet: the defaults


def test_recent_days_of_a_cumulative_kpi_stop_at_the_period_start() -> None:
    from kpi_evaluator.actuals import recent, recent_days

    s = Strategy.build("t", {k: v for k, v in NODES.items() if k[0] != "organization"})
    month = s.calendar.bucket("month", datetime(2026, 3, 10, tzinfo=UTC))
    now = datetime(2026, 3, 3, 12, tzinfo=UTC)
    days = recent_days(s, s.kpis["a"], month, now)
    assert [d.key for d in days] == ["2026-03-03", "2026-03-02", "2026-03-01"]
    states = {("t", "a", "day", "2026-03-02"): state(8), ("t", "a", "day", "2026-03-03"): state(2)}
    r = recent(s, s.kpis["a"], days, now, states)
    assert r is not None
    assert (r.total, r.days) == (10, 2.5)
    assert recent_days(s, s.kpis["b"], month, now) == []  # max is a level, no trend
