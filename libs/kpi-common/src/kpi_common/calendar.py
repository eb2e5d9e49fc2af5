"""The fiscal calendar: which period an instant falls in, and what a period key names.

Periods are computed on the local wall clock of the organisation's IANA time zone.
- `year`: the fiscal year, named by the calendar year in which it starts (`2026`).
- `quarter`: three fiscal months from the fiscal year start (`2026-Q1` .. `2026-Q4`).
- `month`: the calendar month (`2026-03`); `week`: the ISO week (`2026-W05`);
  `day`: the local date (`2026-03-05`).
Bucket bounds are returned in UTC, `start` inclusive and `end` exclusive.

Period keys are part of the public contract (per-period targets in the strategy document,
every API that names a period), so their calendar is shared: goals resolves targets on it,
the evaluator places events on it, the CLI names periods with it.
"""

import calendar as _cal
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kpi_common.definitions import OrganizationDef

PERIOD_KINDS = ("year", "quarter", "month", "week", "day")


@dataclass(frozen=True)
class Bucket:
    key: str
    start: datetime
    end: datetime

    def fraction_elapsed(self, now: datetime) -> float:
        """How much of the period lies behind `now`, from 0 to 1."""
        total = (self.end - self.start).total_seconds()
        done = (now - self.start).total_seconds()
        return min(1.0, max(0.0, done / total))


def _clamped(year: int, month: int, day: int) -> date:
    """`day` of that month, or the month's last day when it has fewer (02-29 in 2027)."""
    return date(year, month, min(day, _cal.monthrange(year, month)[1]))


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


class FiscalCalendar:
    def __init__(self, fiscal_year_start: str = "01-01", timezone: str = "UTC") -> None:
        month, day = (int(p) for p in fiscal_year_start.split("-"))
        self._month = month
        self._day = day
        self.tz = ZoneInfo(timezone)
        self._last: dict[str, Bucket] = {}

    @property
    def identity(self) -> tuple[str, str]:
        """(fiscal year start `MM-DD`, IANA zone): equal identities place instants alike."""
        return f"{self._month:02d}-{self._day:02d}", self.tz.key

    def _utc(self, d: date) -> datetime:
        return datetime.combine(d, time.min, tzinfo=self.tz).astimezone(UTC)

    def _fiscal_month_start(self, fy: int, n: int) -> date:
        """Start of the n-th fiscal month (0-based) of fiscal year `fy`."""
        year, month = _add_months(fy, self._month, n)
        return _clamped(year, month, self._day)

    def _fiscal_year_of(self, local: date) -> int:
        start = _clamped(local.year, self._month, self._day)
        return local.year if local >= start else local.year - 1

    def bucket(self, kind: str, at: datetime) -> Bucket:
        """The bucket of kind `kind` that contains the instant `at`."""
        last = self._last.get(kind)
        if last is not None and last.start <= at < last.end:
            return last  # events of a batch mostly share their period: skip the date maths
        found = self._bucket(kind, at)
        self._last[kind] = found
        return found

    def _bucket(self, kind: str, at: datetime) -> Bucket:
        local = at.astimezone(self.tz).date()
        if kind == "year":
            return self.year(self._fiscal_year_of(local))
        if kind == "quarter":
            fy = self._fiscal_year_of(local)
            q = next(q for q in (4, 3, 2, 1) if local >= self._fiscal_month_start(fy, 3 * (q - 1)))
            return self.quarter(fy, q)
        if kind == "month":
            return self.month(local.year, local.month)
        if kind == "week":
            iso = local.isocalendar()
            return self.week(iso.year, iso.week)
        if kind == "day":
            return self.day(local)
        raise ValueError(f"unknown period kind {kind!r}")

    def year(self, fy: int) -> Bucket:
        start, end = self._fiscal_month_start(fy, 0), self._fiscal_month_start(fy, 12)
        return Bucket(f"{fy:04d}", self._utc(start), self._utc(end))

    def quarter(self, fy: int, q: int) -> Bucket:
        start = self._fiscal_month_start(fy, 3 * (q - 1))
        end = self._fiscal_month_start(fy, 3 * q)
        return Bucket(f"{fy:04d}-Q{q}", self._utc(start), self._utc(end))

    def month(self, year: int, month: int) -> Bucket:
        ny, nm = _add_months(year, month, 1)
        start, end = date(year, month, 1), date(ny, nm, 1)
        return Bucket(f"{year:04d}-{month:02d}", self._utc(start), self._utc(end))

    def week(self, iso_year: int, iso_week: int) -> Bucket:
        start = date.fromisocalendar(iso_year, iso_week, 1)
        end = start + timedelta(days=7)
        return Bucket(f"{iso_year:04d}-W{iso_week:02d}", self._utc(start), self._utc(end))

    def day(self, d: date) -> Bucket:
        return Bucket(d.isoformat(), self._utc(d), self._utc(d + timedelta(days=1)))

    def parse(self, key: str) -> tuple[str, Bucket]:
        """A period key back to its kind and bucket: `2026-Q1` -> ("quarter", ...)."""
        for kind, pattern in _KEY_PATTERNS:
            m = pattern.match(key)
            if m:
                return kind, self._from_match(kind, m)
        raise ValueError(f"not a period key: {key!r}")

    def _from_match(self, kind: str, m: re.Match[str]) -> Bucket:
        a, b = int(m.group(1)), int(m.group(2)) if m.lastindex and m.lastindex > 1 else 0
        if kind == "year":
            return self.year(a)
        if kind == "quarter":
            return self.quarter(a, b)
        if kind == "month":
            return self.month(a, b)
        if kind == "week":
            return self.week(a, b)
        return self.day(date(a, b, int(m.group(3))))

    def previous(self, kind: str, bucket: Bucket) -> Bucket:
        """The bucket just before `bucket`."""
        return self.bucket(kind, bucket.start - timedelta(seconds=1))


_KEY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("year", re.compile(r"^(\d{4})$")),
    ("quarter", re.compile(r"^(\d{4})-Q([1-4])$")),
    ("month", re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")),
    ("week", re.compile(r"^(\d{4})-W(\d{2})$")),
    ("day", re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")),
]


def calendar_of(org: OrganizationDef | None) -> FiscalCalendar:
    """The organisation's calendar (the contract checked its fields); before a tenant's
    organization is known, the contract's defaults (a January year, UTC)."""
    if org is None:
        return FiscalCalendar()
    return FiscalCalendar(org.fiscal_year_start, org.timezone)
