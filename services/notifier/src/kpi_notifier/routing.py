"""Who hears about a breach: the strategy's alert routes, silences and escalation.

Rules (docs/notifier.md):
- A route's `match` keys (`unit`, `kpi`, `perspective`, `severity`) must all hold; `unit`
  matches the unit and every unit below it (`match: {unit: sales}` covers sales-emea).
- Routes are tried in document order; the first live one that matches decides the
  recipients. Every matching `mode: shadow` route is tried too, and recorded (shadow.py).
- No route matches (or there are none): the KPI owner, by email.
- `owner` is the breach's KPI owner; a person id is that person, by email; any other name
  is a named channel. Unknown names are reported, never guessed.
- Escalation goes to the owner of the nearest unit above the KPI's unit whose owner is not
  the KPI owner already.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kpi_notifier.directory import ChannelKind, Directory, Match, Route


@dataclass(frozen=True)
class Breach:
    """A breach as the notifier knows it: the facts of the event and its own progress."""

    tenant_id: str
    breach_id: str
    kpi_id: str
    unit_id: str
    owner: str | None
    perspective: str | None
    severity: str
    opened_at: datetime
    facts: Mapping[str, Any] = field(default_factory=dict)
    resolved_at: datetime | None = None
    acked_at: datetime | None = None
    reminders_sent: int = 0
    escalated_at: datetime | None = None
    urgency: str = "page"
    restatement_id: str | None = None

    @property
    def pages(self) -> bool:
        """A restatement (a period past the evaluator's horizon) never pages, reminds or
        escalates: it joins its run's one notice per route."""
        return self.urgency == "page"


@dataclass(frozen=True)
class Recipient:
    """One destination: a person by email (`kind` email, `to` person id) or a named channel."""

    kind: ChannelKind
    to: str
    channel: str = "email"


@dataclass(frozen=True)
class Silence:
    id: str
    match: Match
    ends_at: datetime
    starts_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= now) and now < self.ends_at


def matches(directory: Directory, match: Match, breach: Breach) -> bool:
    if match.units and not match.units.intersection(directory.ancestors(breach.unit_id)):
        return False
    checks = (
        (match.kpis, breach.kpi_id),
        (match.perspectives, breach.perspective),
        (match.severities, breach.severity),
        (match.breaches, breach.breach_id),
    )
    return all(not wanted or value in wanted for wanted, value in checks)


def unknown_names(directory: Directory, match: Match) -> list[tuple[str, str]]:
    """(matcher, id) of each KPI or unit a silence names that the tenant's strategy (as
    learned from goals.changes) does not have: such a silence would hold nothing back."""
    known = (("kpi", match.kpis, directory.kpis), ("unit", match.units, directory.units))
    return [(name, i) for name, wanted, have in known for i in sorted(wanted) if i not in have]


def choose_route(directory: Directory, breach: Breach) -> Route | None:
    """The first live route, in document order, whose match holds (a shadow route never
    decides who is paged: kpi_notifier.shadow tries it beside the live ones)."""
    live = (r for r in directory.routes if r.mode == "live")
    return next((r for r in live if matches(directory, r.match, breach)), None)


def breach_owner(directory: Directory, breach: Breach) -> str | None:
    kpi = directory.kpis.get(breach.kpi_id)
    return breach.owner or (kpi.owner if kpi else None) or directory.unit_owner(breach.unit_id)


def resolve_names(
    directory: Directory, names: Iterable[str], owner: str | None
) -> tuple[list[Recipient], list[str]]:
    """Recipients for route `notify` names, in order without repeats, and unknown names."""
    found: list[Recipient] = []
    unknown: list[str] = []
    for name in names:
        recipient = _recipient(directory, owner if name == "owner" else name)
        if recipient is None:
            unknown.append(name)
        elif recipient not in found:
            found.append(recipient)
    return found, unknown


def _recipient(directory: Directory, name: str | None) -> Recipient | None:
    if name is None:
        return None
    if name in directory.channels:
        channel = directory.channels[name]
        return Recipient(kind=channel.kind, to=name, channel=name)
    if name in directory.people:
        return Recipient(kind="email", to=name)
    return None


def recipients(directory: Directory, breach: Breach) -> tuple[list[Recipient], list[str]]:
    """Who hears about `breach`: the first matching route's `notify`, else the owner."""
    route = choose_route(directory, breach)
    names = route.notify if route is not None else ("owner",)
    return resolve_names(directory, names, breach_owner(directory, breach))


def escalation_target(directory: Directory, breach: Breach) -> str | None:
    """The owner of the nearest unit above the KPI's unit who is not the KPI owner."""
    owner = breach_owner(directory, breach)
    for unit_id in directory.ancestors(breach.unit_id)[1:]:
        candidate = directory.unit_owner(unit_id)
        if candidate is not None and candidate != owner:
            return candidate
    return None


def silenced_by(
    directory: Directory, silences: Iterable[Silence], breach: Breach, now: datetime
) -> Silence | None:
    """The first active silence that matches `breach`, if any."""
    return next(
        (s for s in silences if s.active(now) and matches(directory, s.match, breach)), None
    )
