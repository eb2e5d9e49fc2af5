from datetime import UTC, date, datetime

from kpi_notifier.reviews import (
    add_months,
    due_date,
    notice_due,
    occurrence,
    overdue_finding,
    plan_review,
    standing,
)

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


def test_an_unheld_past_due_review_is_an_overdue_finding() -> None:
    found = overdue_finding(standing(QBR, set(), at("2026-04-03"), "UTC"))
    assert found is not None
    assert (found["rule"], found["severity"], found["node_type"], found["node_id"]) == (
        "review_overdue",
        "warning",
        "review",
        "quarterly-business-review",
    )
    assert found["explanation"] == (
        "Review quarterly-business-review was due on 2026-03-31 (3 day(s) ago) and is not"
        " recorded as held; never recorded as held."
    )
    assert (
        found["suggested_fix"] == "Hold it and record it: kpi review-held quarterly-business-review"
    )


def test_a_held_review_is_no_finding_until_its_next_date_is_over() -> None:
    held = {date(2026, 3, 31)}
    assert overdue_finding(standing(QBR, held, at("2026-04-03"), "UTC")) is None
    assert overdue_finding(standing(QBR, held, at("2026-06-30", 23), "UTC")) is None
    late = overdue_finding(standing(QBR, held, at("2026-07-02"), "UTC"))
    assert late is not None
    assert "due on 2026-06-30 (2 day(s) ago)" in str(late["explanation"])
    assert str(late["explanation"]).endswith("last held on 2026-03-31.")


def test_overdue_counts_days_in_the_organisations_timezone() -> None:
    # 2026-03-31 16:00 UTC is already 2026-04-01 in Tokyo: one day overdue there, none in UTC.
    assert standing(QBR, set(), at("2026-03-31", 16), "Asia/Tokyo").days_overdue == 1
    assert standing(QBR, set(), at("2026-03-31", 16), "UTC").days_overdue is None


def test_attendees_each_get_one_keyed_reminder() -> None:
    notice = notice_due(QBR, set(), at("2026-03-24"), "UTC")
    assert notice is not None
    planned = plan_review(acme(), QBR, notice)
    assert [p.recipient.to for p in planned] == ["morgan", "priya", "dana", "kim", "sam", "jo"]
    assert (
        planned[0].dedup_key == "review:quarterly-business-review:2026-03-31:before-7d:email:morgan"
    )


def test_a_review_looks_back_to_the_last_held_else_the_date_before_it() -> None:
    never = standing(QBR, set(), at("2026-03-20"), "UTC")
    assert (never.due, never.since) == (date(2026, 3, 31), date(2025, 12, 31))
    held = standing(QBR, {date(2026, 3, 31)}, at("2026-05-01"), "UTC")
    assert (held.due, held.since) == (date(2026, 6, 30), date(2026, 3, 31))
    skipped = standing(QBR, {date(2026, 6, 30)}, at("2026-05-01"), "UTC")
    assert (skipped.due, skipped.since) == (date(2026, 3, 31), date(2025, 12, 31))
