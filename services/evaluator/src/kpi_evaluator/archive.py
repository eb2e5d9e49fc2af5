"""The archive's time partitions and retention horizon (pure).

The archive is partitioned by calendar month (UTC) of event time. It keeps the current month
and the `retention_months` before it: the horizon is the start of the oldest month kept. An
event whose time lies before the horizon is expired: it is neither archived nor counted
(`evaluator_events_expired_total`), so a resend of an event whose partition was dropped can
never count a second time.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from kpi_common.retention import oldest_counted

PREFIX = "events_p"


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, at: datetime) -> "Month":
        utc = at.astimezone(UTC)
        return cls(utc.year, utc.month)

    @classmethod
    def parse(cls, partition: str) -> "Month | None":
        """The month of a partition name `events_pYYYYMM`, or None for another name."""
        digits = partition.removeprefix(PREFIX)
        if partition == digits or len(digits) != 6 or not digits.isdigit():
            return None
        return cls(int(digits[:4]), int(digits[4:]))

    def plus(self, months: int) -> "Month":
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.plus(1).start

    @property
    def partition(self) -> str:
        return f"{PREFIX}{self.year:04d}{self.month:02d}"


def horizon(now: datetime, retention_months: int) -> Month:
    """The oldest month the archive keeps (and in which an event still counts)."""
    return Month.of(oldest_counted(now, retention_months))


def expired(partitions: Iterable[str], oldest: Month) -> list[str]:
    """Partitions wholly before the oldest month kept: dropped by the retention job."""
    return sorted(p for p in partitions if (m := Month.parse(p)) is not None and m < oldest)


def months_of(times: Iterable[datetime]) -> set[Month]:
    """The months (UTC) of the times. Called on every batch: one Month per distinct month,
    not per event (a frozen dataclass each was 3.5 % of the evaluator's CPU under load)."""
    pairs = {(u.year, u.month) for u in (t.astimezone(UTC) for t in times)}
    return {Month(year, month) for year, month in pairs}
