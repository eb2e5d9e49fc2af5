"""A person's inbox, as plain rules: what they owe now (docs/notifier.md, "Inbox").

One computation answers `GET /v1/inbox?person=` and builds the weekly inbox digest. Each
section is a function of the tenant's `InboxFacts` and the person, listed in `SECTIONS`
(in the order shown); a new kind of item (incidents) is one more entry there and, when it
needs data of its own, one more field of `InboxFacts`. Items are JSON-ready (dates as ISO
strings), so the digest stores them as they are.

- `breaches`: open, unacknowledged breaches whose owner (the rule of routing's
  `breach_owner`) is the person; a breach of a shadow transition (`mode: "shadow"`) is not
  owed by anyone and is left out.
- `reviews`: review cycles the person attends (or, without attendees, whose unit they own)
  whose reminder window opened (`remind_before`) or that are overdue, by the rule of the
  review notices.
- `kpis`: KPIs the person owns (the KPI's `owner`, else its unit's owner) whose latest
  status from the evaluator is `no_data` or `stale`, or that has no status yet.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from kpi_notifier.directory import Directory, Kpi
from kpi_notifier.planning import Planned
from kpi_notifier.reviews import notice_due, review_people, standing
from kpi_notifier.routing import Breach, Recipient, breach_owner
from kpi_notifier.scorecards import week_due
from kpi_notifier.shadow import transition_mode

NO_DATA = ("no_data", "stale")


@dataclass(frozen=True)
class InboxFacts:
    """What a tenant's inboxes are computed from, all of it the notifier's own data."""

    directory: Directory
    now: datetime
    breaches: Sequence[Breach] = ()  # open and unacknowledged
    held: Mapping[str, set[date]] = field(default_factory=dict)  # review id -> held dates
    statuses: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # kpi id -> facts


Section = Callable[[InboxFacts, str], list[dict[str, Any]]]


def breach_items(facts: InboxFacts, person: str) -> list[dict[str, Any]]:
    return [
        _breach_item(facts.directory, b)
        for b in sorted(facts.breaches, key=lambda b: (b.opened_at, b.breach_id))
        if transition_mode(b.facts) == "live" and breach_owner(facts.directory, b) == person
    ]


def _breach_item(directory: Directory, b: Breach) -> dict[str, Any]:
    f, kpi = b.facts, directory.kpis.get(b.kpi_id)
    return {
        "breach_id": b.breach_id,
        "kpi_id": b.kpi_id,
        "kpi_title": kpi.title if kpi else f.get("kpi_title") or b.kpi_id,
        "unit_id": b.unit_id,
        "severity": b.severity,
        "status": f.get("status"),
        "period": f.get("period"),
        "actual": f.get("actual"),
        "target": f.get("target"),
        "opened_at": b.opened_at.isoformat(),
        "reminders_sent": b.reminders_sent,
    }


def review_items(facts: InboxFacts, person: str) -> list[dict[str, Any]]:
    d, now, out = facts.directory, facts.now, []
    for review in sorted(d.reviews.values(), key=lambda r: r.id):
        held = facts.held.get(review.id, set())
        if person not in review_people(d, review):
            continue
        if (notice := notice_due(review, held, now, d.timezone)) is None:
            continue
        s = standing(review, held, now, d.timezone)
        out.append({
            "review_id": review.id, "title": review.title, "unit": review.unit,
            "due": s.due.isoformat(), "notice": notice.notice,
            "overdue": s.days_overdue is not None, "days_overdue": s.days_overdue or 0,
        })  # fmt: skip
    return out


def kpi_owner(directory: Directory, kpi: Kpi) -> str | None:
    return kpi.owner or (directory.unit_owner(kpi.unit) if kpi.unit else None)


def kpi_items(facts: InboxFacts, person: str) -> list[dict[str, Any]]:
    out = []
    for kpi in sorted(facts.directory.kpis.values(), key=lambda k: k.id):
        status = facts.statuses.get(kpi.id, {})
        if (
            kpi_owner(facts.directory, kpi) != person
            or status.get("status", "no_data") not in NO_DATA
        ):
            continue
        out.append({
            "kpi_id": kpi.id, "title": kpi.title, "unit": kpi.unit,
            "status": status.get("status", "no_data"), "period": status.get("period"),
            "evaluated_at": status.get("evaluated_at"),
        })  # fmt: skip
    return out


SECTIONS: dict[str, Section] = {
    "breaches": breach_items,
    "reviews": review_items,
    "kpis": kpi_items,
}


def inbox(facts: InboxFacts, person: str) -> dict[str, Any]:
    """What `person` owes now, section by section, and how many items in all."""
    sections = {name: build(facts, person) for name, build in SECTIONS.items()}
    who = facts.directory.people.get(person)
    return {
        "person": person,
        "name": who.name if who else person,
        "as_of": facts.now.isoformat(),
        "count": sum(len(items) for items in sections.values()),
        **sections,
    }


def digest_week(now: datetime, tz: str) -> str | None:
    """The ISO week whose inbox digest is due: on Monday from 08:00 in the organisation's
    timezone (a whole day of ticks to catch it), never later in the week."""
    week = week_due(now, tz)
    return week if now.astimezone(ZoneInfo(tz)).weekday() == 0 else None


def plan_inbox_digest(person: str, week: str, box: Mapping[str, Any]) -> list[Planned]:
    """The weekly digest of a person's inbox (`inbox:<week>:email:<person>`); none when
    the inbox is empty."""
    if not box["count"]:
        return []
    context = {"kind": "inbox", "week": week, "inbox": dict(box)}
    key = f"inbox:{week}:email:{person}"
    return [Planned(key, "digest", Recipient(kind="email", to=person), context)]
