"""Review reminders from the strategy's review cycles, as plain rules.

The review due now is the first date of its series (`next`, then every `cadence`) that is
not recorded as held. Before it: one reminder at each `remind_before` offset (when several
offsets have passed unseen, only the nearest is sent). Once the due day is over in the
organisation's timezone and the review is not recorded as held: one overdue notice.
"""

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kpi_common.definitions import Cadence

from kpi_notifier.directory import Directory, Review
from kpi_notifier.planning import Planned
from kpi_notifier.routing import Recipient

MONTHS = {Cadence.MONTHLY: 1, Cadence.QUARTERLY: 3, Cadence.HALF_YEARLY: 6, Cadence.YEARLY: 12}


def add_months(start: date, months: int) -> date:
    years, month0 = divmod(start.month - 1 + months, 12)
    year, month = start.year + years, month0 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def occurrence(review: Review, n: int) -> date:
    """The n-th date of the review's series (0 is `next`)."""
    if review.cadence is Cadence.WEEKLY:
        return review.next + timedelta(weeks=n)
    return add_months(review.next, n * MONTHS[review.cadence])


def due_date(review: Review, held: Iterable[date]) -> date:
    done = set(held)
    n = 0
    while occurrence(review, n) in done:
        n += 1
    return occurrence(review, n)


def duration_label(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Notice:
    review_id: str
    due: date
    notice: str  # "before-7d", ... or "overdue"


def notice_due(review: Review, held: Iterable[date], now: datetime, tz: str) -> Notice | None:
    due = due_date(review, held)
    start = datetime.combine(due, time(0), tzinfo=ZoneInfo(tz))
    if now >= start + timedelta(days=1):
        return Notice(review.id, due, "overdue")
    passed = [o for o in review.remind_before if start - o <= now]
    return Notice(review.id, due, f"before-{duration_label(min(passed))}") if passed else None


def review_status(
    review: Review, held: Iterable[date], now: datetime, tz: str
) -> dict[str, object]:
    """Where a review stands: the date due now (past the held ones), the last held date, and
    whether it is overdue by the same rule as the overdue notice."""
    done = sorted(set(held))
    notice = notice_due(review, done, now, tz)
    due = due_date(review, done)
    overdue = notice is not None and notice.notice == "overdue"
    today = now.astimezone(ZoneInfo(tz)).date()
    return {
        "review_id": review.id,
        "title": review.title,
        "unit": review.unit,
        "cadence": review.cadence,
        "next_due": due.isoformat(),
        "last_held": done[-1].isoformat() if done else None,
        "overdue": overdue,
        "days_overdue": (today - due).days if overdue else 0,
    }


def plan_review(directory: Directory, review: Review, notice: Notice) -> list[Planned]:
    people = list(review.attendees)
    if not people and review.unit and (owner := directory.unit_owner(review.unit)):
        people = [owner]
    context = {
        "kind": "review",
        "notice": notice.notice,
        "review": {
            "id": review.id,
            "title": review.title,
            "cadence": review.cadence.value,
            "unit": review.unit,
            "due": notice.due.isoformat(),
        },
    }
    return [
        Planned(
            dedup_key=f"review:{review.id}:{notice.due}:{notice.notice}:email:{person}",
            kind="review",
            recipient=Recipient(kind="email", to=person),
            context=context,
        )
        for person in people
    ]
