"""The archive's months, horizon and expired partitions (pure)."""

from datetime import UTC, datetime, timedelta, timezone

from kpi_evaluator.archive import Month, expired, horizon, months_of


def test_a_month_is_the_utc_month_of_an_instant() -> None:
    late_new_year = datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert Month.of(late_new_year) == Month(2025, 12)  # 2025-12-31T23:30Z
    assert Month(2025, 12).start == datetime(2025, 12, 1, tzinfo=UTC)
    assert Month(2025, 12).end == datetime(2026, 1, 1, tzinfo=UTC)
    assert Month(2026, 2).partition == "events_p202602"
    assert Month.parse("events_p202602") == Month(2026, 2)
    assert Month.parse("events_p2026") is None
    assert Month.parse("buckets") is None


def test_the_horizon_keeps_the_current_month_and_the_retention_before_it() -> None:
    now = datetime(2026, 2, 15, tzinfo=UTC)
    assert horizon(now, 36) == Month(2023, 2)
    assert horizon(now, 1) == Month(2026, 1)
    assert horizon(now, 12).start == datetime(2025, 2, 1, tzinfo=UTC)


def test_only_partitions_wholly_before_the_horizon_expire() -> None:
    names = ["events_p202501", "events_p202502", "events_p202602", "other"]
    assert expired(names, Month(2025, 2)) == ["events_p202501"]
    assert expired(names, Month(2024, 1)) == []
    times = [datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 28, 23, tzinfo=UTC)]
    assert months_of(times) == {Month(2026, 2)}
