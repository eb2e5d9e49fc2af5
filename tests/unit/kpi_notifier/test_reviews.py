from datetime import UTC, date, datetime

from kpi_notifier.reviews import add_months, due_date, notice_due, occurrence, plan_review

from tests.unit.kpi_notifier.acme import acme

QBR = acme().reviews["quarterly-business-review"]


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def test_series_steps_by_cadence_and_clamps_to_month_end() -> None:
    assert occurrence(QBR, 1) == date(2026, 6, 30)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert due_date(QBR, {date(2026, 3, 31)}) == date(2026, 6, 30)


def test_one_reminder_per_offset_then_overdue() -> None:
    assert notice_due(QBR, set(), at("2026-03-23"), "UTC") is None
    assert notice_due(QBR, set(), at("2026-03-24", 0), "UTC").notice == "before-7d"  # type: ignore[union-attr]
    assert notice_due(QBR, set(), at("2026-03-30"), "UTC").notice == "before-1d"  # type: ignore[union-attr]
    assert notice_due(QBR, set(), at("2026-03-31", 23), "UTC").notice == "before-1d"  # type: ignore[union-attr]
    assert notice_due(QBR, set(), at("2026-04-01", 0), "UTC").notice == "overdue"  # type: ignore[union-attr]


def test_a_held_review_is_not_overdue_and_the_next_one_is_reminded() -> None:
    held = {date(2026, 3, 31)}
    assert notice_due(QBR, held, at("2026-04-02"), "UTC") is None
    notice = notice_due(QBR, held, at("2026-06-23"), "UTC")
    assert notice is not None
    assert notice.due == date(2026, 6, 30)


def test_the_organisations_timezone_decides_when_a_day_starts() -> None:
    # 2026-03-24 00:00 in Tokyo is 2026-03-23 15:00 UTC.
    assert notice_due(QBR, set(), at("2026-03-23", 15), "Asia/Tokyo") is not None
    assert notice_due(QBR, set(), at("2026-03-23", 15), "UTC") is None


def test_attendees_each_get_one_keyed_reminder() -> None:
    notice = notice_due(QBR, set(), at("2026-03-24"), "UTC")
    assert notice is not None
    planned = plan_review(acme(), QBR, notice)
    assert [p.recipient.to for p in planned] == ["morgan", "priya", "dana", "kim", "sam", "jo"]
    assert (
        planned[0].dedup_key == "review:quarterly-business-review:2026-03-31:before-7d:email:morgan"
    )
