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


def due_index(review: Review, held: Iterable[date]) -> int:
    """Which date of the series is due now: the first not recorded as held."""
    done = set(held)
    n = 0
    while occurrence(review, n) in done:
        n += 1
    return n


def due_date(review: Review, held: Iterable[date]) -> date:
    return occurrence(review, due_index(review, held))


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


@dataclass(frozen=True)
class Standing:
    """Where a review stands: the date due now (past the held ones), the last held date,
    and how many days it is overdue by the rule of the overdue notice (None: not overdue)."""

    review: Review
    due: date
    last_held: date | None
    days_overdue: int | None
    since: date  # what the review due now looks back to: the last held before it, else the
    # date of the series before it


def standing(review: Review, held: Iterable[date], now: datetime, tz: str) -> Standing:
    done = sorted(set(held))
    notice = notice_due(review, done, now, tz)
    n = due_index(review, done)
    due = occurrence(review, n)
    today = now.astimezone(ZoneInfo(tz)).date()
    late = (today - due).days if notice is not None and notice.notice == "overdue" else None
    before = [d for d in done if d < due]
    since = before[-1] if before else occurrence(review, n - 1)
    return Standing(review, due, done[-1] if done else None, late, since)


def review_status(s: Standing) -> dict[str, object]:
    """`GET /v1/reviews`: one review cycle as the notifier knows it."""
    return {
        "review_id": s.review.id,
        "title": s.review.title,
        "unit": s.review.unit,
        "cadence": s.review.cadence,
        "next_due": s.due.isoformat(),
        "last_held": s.last_held.isoformat() if s.last_held else None,
        "overdue": s.days_overdue is not None,
        "days_overdue": s.days_overdue or 0,
        "since": s.since.isoformat(),
    }


OVERDUE_RULE = {
    "id": "review_overdue",
    "severity": "warning",
    "description": "A review whose date due now (the first of its series not recorded as "
    "held) is over in the organisation's time zone: the rule of the overdue notice.",
}


def overdue_finding(s: Standing) -> dict[str, object] | None:
    """`GET /v1/findings`: an overdue review as an alignment finding (the shape of goals'
    `GET /v1/alignment`), or None when it is not overdue."""
    if s.days_overdue is None:
        return None
    rid = s.review.id
    held = f"last held on {s.last_held.isoformat()}" if s.last_held else "never recorded as held"
    return {
        "rule": OVERDUE_RULE["id"],
        "severity": OVERDUE_RULE["severity"],
        "node_type": "review",
        "node_id": rid,
        "explanation": f"Review {rid} was due on {s.due.isoformat()} ({s.days_overdue} day(s)"
        f" ago) and is not recorded as held; {held}.",
        "suggested_fix": f"Hold it and record it: kpi review-held {rid}",
        "next_due": s.due,
        "days_overdue": s.days_overdue,
        "last_held": s.last_held,
    }


def review_people(directory: Directory, review: Review) -> list[str]:
    """Who a review concerns: its attendees, or else its unit's owner."""
    people = list(review.attendees)
    if not people and review.unit and (owner := directory.unit_owner(review.unit)):
        people = [owner]
    return people


def plan_review(directory: Directory, review: Review, notice: Notice) -> list[Planned]:
    people = review_people(directory, review)
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
