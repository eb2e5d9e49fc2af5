"""The notifier's own copy of the strategy, as plain data: people, units, KPIs, alert
channels and routes, reviews and the organisation's timezone.

Built from the contract's typed definitions (`kpi_common.definitions`, `node.upserted` v2,
docs/events.md): goals publishes them with every default filled in, so nothing here fills
one in; what is left is the notifier's reading of durations, timezones and channels.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kpi_common.definitions import (
    AlertChannelDef,
    AlertRouteDef,
    Cadence,
    Definition,
    InhibitRuleDef,
    KpiDef,
    OrganizationDef,
    PersonDef,
    ReviewDef,
    RouteMatchDef,
    UnitDef,
    group_wait_seconds,
)

D = TypeVar("D")

NODE_TYPES = (
    "organization", "unit", "person", "kpi", "review", "alert_channel", "alert_route",
    "alert_inhibit",
)  # fmt: skip
ChannelKind = Literal["email", "slack", "webhook"]
_DURATION = re.compile(r"^([1-9][0-9]*)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """`30m`, `12h`, `2d`, `1w` as a timedelta. Raises ValueError on anything else."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 30m, 12h, 2d, 1w)")
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str | None = None
    slack: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    parent: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class Kpi:
    id: str
    title: str
    unit: str | None = None
    owner: str | None = None
    perspective: str | None = None
    contributes_to: str | None = None


@dataclass(frozen=True)
class Channel:
    """A named alert channel; `target` (webhook URL or addresses) may hold `${VAR}`s."""

    name: str
    kind: ChannelKind
    targets: tuple[str, ...]
    secret: str | None = None


@dataclass(frozen=True)
class Match:
    """What a route or silence matches; an empty match matches every breach."""

    units: frozenset[str] = frozenset()
    kpis: frozenset[str] = frozenset()
    perspectives: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset()
    breaches: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Route:
    position: int
    match: Match
    notify: tuple[str, ...]
    escalate_after: timedelta | None = None
    mode: Literal["live", "shadow"] = "live"
    group_wait_s: float | None = None  # None: the notifier's KPI_NOTIFIER_GROUP_WAIT_S


@dataclass(frozen=True)
class InhibitRule:
    """While a breach matching `source` is open, a breach matching `target` with the same
    `equal` labels (`unit`, `kpi`, `perspective`) is muted (rules in `inhibition`)."""

    position: int
    source: Match
    target: Match
    equal: tuple[str, ...] = ()


@dataclass(frozen=True)
class Review:
    id: str
    title: str
    cadence: Cadence
    next: date
    unit: str | None = None
    remind_before: tuple[timedelta, ...] = ()
    attendees: tuple[str, ...] = ()


@dataclass(frozen=True)
class Directory:
    timezone: str = "UTC"
    people: Mapping[str, Person] = field(default_factory=dict)
    units: Mapping[str, Unit] = field(default_factory=dict)
    kpis: Mapping[str, Kpi] = field(default_factory=dict)
    channels: Mapping[str, Channel] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    reviews: Mapping[str, Review] = field(default_factory=dict)
    inhibit: tuple[InhibitRule, ...] = ()

    def ancestors(self, unit_id: str) -> list[str]:
        """`unit_id` and the units above it, nearest first (cycles cut)."""
        out: list[str] = []
        current: str | None = unit_id
        while current is not None and current not in out:
            out.append(current)
            unit = self.units.get(current)
            current = unit.parent if unit else None
        return out

    def unit_owner(self, unit_id: str) -> str | None:
        """A unit's `owner` when set; otherwise the first (by id) person placed in the unit."""
        unit = self.units.get(unit_id)
        if unit is not None and unit.owner:
            return unit.owner
        members = sorted(p.id for p in self.people.values() if p.unit == unit_id)
        return members[0] if members else None


def as_list(value: Any) -> list[str]:
    """One value or a list of them, as a list (silence matchers, as the API stores them)."""
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def parse_match(raw: Mapping[str, Any] | None) -> Match:
    """A silence's matchers, as the API stored them."""
    raw = raw or {}
    return Match(
        units=frozenset(as_list(raw.get("unit"))),
        kpis=frozenset(as_list(raw.get("kpi"))),
        perspectives=frozenset(as_list(raw.get("perspective"))),
        severities=frozenset(as_list(raw.get("severity"))),
        breaches=frozenset(as_list(raw.get("breach_id"))),
    )


def _person(d: PersonDef) -> Person:
    return Person(d.id, d.name, d.email, d.slack, d.unit)


def _unit(d: UnitDef) -> Unit:
    return Unit(d.id, d.name, d.parent, d.owner)


def _kpi(d: KpiDef) -> Kpi:
    return Kpi(d.id, d.title, d.unit, d.owner, d.perspective, d.contributes_to)


def channel(d: AlertChannelDef) -> Channel:
    """The channel of its `kind`. Raises ValueError when that kind's settings are missing."""
    if d.kind == "slack" and d.slack is not None:
        return Channel(d.id, "slack", (d.slack.webhook_url,))
    if d.kind == "email" and d.email is not None and d.email.to:
        return Channel(d.id, "email", tuple(d.email.to))
    if d.kind == "webhook" and d.webhook is not None:
        return Channel(d.id, "webhook", (d.webhook.url,), d.webhook.secret)
    raise ValueError(f"alert channel {d.id!r}: kind {d.kind} without its {d.kind} settings")


def _match(m: RouteMatchDef) -> Match:
    return Match(frozenset(m.unit), frozenset(m.kpi), frozenset(m.perspective),
                 frozenset(m.severity))  # fmt: skip


def _position(kind: str, node_id: str) -> int:
    if not node_id.isdigit():
        raise ValueError(f"{kind} id {node_id!r} is not a position (0, 1, ...)")
    return int(node_id)


def _route(d: AlertRouteDef) -> Route:
    return Route(
        position=_position("alert route", d.id),
        match=_match(d.match),
        notify=tuple(d.notify),
        escalate_after=parse_duration(d.escalate_after) if d.escalate_after else None,
        mode=d.mode,
        group_wait_s=group_wait_seconds(d.group_wait) if d.group_wait else None,
    )


def _inhibit(d: InhibitRuleDef) -> InhibitRule:
    position = _position("alert inhibit rule", d.id)
    return InhibitRule(position, _match(d.source), _match(d.target), tuple(d.equal))


def _review(d: ReviewDef) -> Review:
    return Review(
        id=d.id,
        title=d.title or d.id,
        cadence=d.cadence,
        next=d.next,
        unit=d.unit,
        remind_before=tuple(parse_duration(x) for x in d.remind_before),
        attendees=tuple(d.attendees),
    )


def _timezone(d: OrganizationDef) -> str:
    try:
        ZoneInfo(d.timezone)
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise ValueError(f"organization timezone {d.timezone!r} is not an IANA zone") from exc
    return d.timezone


def _of(definitions: Sequence[Definition], kind: type[D]) -> list[D]:
    return [d for d in definitions if isinstance(d, kind)]


def build_directory(definitions: Iterable[Definition]) -> Directory:
    """A directory from the contract's definitions of a tenant's live nodes (the types the
    notifier does not use are ignored). Raises ValueError for a definition the notifier
    cannot use (a duration or timezone it does not know, a channel without its settings):
    the consumer checks each definition so when it arrives (`check`), and stores none that
    fails."""
    defs = list(definitions)
    orgs = _of(defs, OrganizationDef)
    return Directory(
        timezone=_timezone(orgs[0]) if orgs else "UTC",
        people={d.id: _person(d) for d in _of(defs, PersonDef)},
        units={d.id: _unit(d) for d in _of(defs, UnitDef)},
        kpis={d.id: _kpi(d) for d in _of(defs, KpiDef)},
        channels={d.id: channel(d) for d in _of(defs, AlertChannelDef)},
        routes=tuple(sorted(map(_route, _of(defs, AlertRouteDef)), key=lambda r: r.position)),
        reviews={d.id: _review(d) for d in _of(defs, ReviewDef)},
        inhibit=tuple(sorted(map(_inhibit, _of(defs, InhibitRuleDef)), key=lambda r: r.position)),
    )


def check(definition: Definition) -> None:
    """Raise ValueError, naming the node, when the notifier cannot use `definition`."""
    build_directory([definition])
