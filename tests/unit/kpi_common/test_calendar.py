"""Fiscal periods on the organisation's local clock, with hand-computed bounds."""

from datetime import UTC, datetime

import pytest
from kpi_common.calendar import FiscalCalendar


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_fiscal_quarters_in_new_york_with_an_april_fiscal_year() -> None:
    cal = FiscalCalendar("04-01", "America/New_York")
    # 2026-04-01T03:30Z is 2026-03-31 23:30 in New York (EDT, UTC-4): still FY2025 Q4.
    assert cal.bucket("quarter", utc(2026, 4, 1, 3, 30)).key == "2025-Q4"
    q1 = cal.bucket("quarter", utc(2026, 4, 1, 4, 30))
    assert q1.key == "2026-Q1"
    assert q1.start == utc(2026, 4, 1, 4)
    assert q1.end == utc(2026, 7, 1, 4)
    assert cal.bucket("quarter", utc(2027, 1, 15)).key == "2026-Q4"
    assert cal.bucket("year", utc(2027, 3, 31, 12)).key == "2026"
    year = cal.year(2026)
    assert (year.start, year.end) == (utc(2026, 4, 1, 4), utc(2027, 4, 1, 4))


def test_quarter_boundary_in_tokyo_and_dst_in_new_york_winter() -> None:
    tokyo = FiscalCalendar("01-01", "Asia/Tokyo")
    # 2026-06-30T16:00Z is 2026-07-01 01:00 JST: Q3 already.
    assert tokyo.bucket("quarter", utc(2026, 6, 30, 16)).key == "2026-Q3"
    assert tokyo.bucket("quarter", utc(2026, 6, 30, 14, 59)).key == "2026-Q2"
    ny = FiscalCalendar("04-01", "America/New_York")
    # Q4 of FY2025 starts 2026-01-01 00:00 EST = 05:00Z.
    assert ny.quarter(2025, 4).start == utc(2026, 1, 1, 5)


def test_month_week_and_day_keys_use_the_local_date() -> None:
    cal = FiscalCalendar("01-01", "Europe/Berlin")
    at = utc(2026, 2, 28, 23, 30)  # 2026-03-01 00:30 in Berlin (CET, UTC+1)
    assert cal.bucket("month", at).key == "2026-03"
    assert cal.bucket("day", at).key == "2026-03-01"
    assert cal.bucket("week", at).key == "2026-W09"
    assert cal.bucket("week", utc(2026, 1, 1, 12)).key == "2026-W01"
    assert cal.bucket("month", at).start == utc(2026, 2, 28, 23)


@pytest.mark.parametrize("key", ["2026", "2026-Q3", "2026-11", "2026-W09", "2026-03-01"])
def test_keys_parse_back_to_the_same_bucket(key: str) -> None:
    cal = FiscalCalendar("07-01", "Australia/Sydney")
    kind, bucket = cal.parse(key)
    assert bucket.key == key
    assert cal.bucket(kind, bucket.start) == bucket
    assert cal.previous(kind, bucket).end == bucket.start


def test_fraction_elapsed_of_a_quarter() -> None:
    q1 = FiscalCalendar().quarter(2026, 1)  # 90 days
    assert q1.fraction_elapsed(utc(2026, 2, 15)) == pytest.approx(45 / 90)
    assert q1.fraction_elapsed(utc(2025, 12, 1)) == 0
    assert q1.fraction_elapsed(utc(2026, 5, 1)) == 1
