"""The notifier's own copy of the strategy, as plain data: people, units, KPIs, alert
channels and routes, reviews and the organisation's timezone.

Built from the `goals.changes` node definitions the notifier stored (docs/events.md); the
documented defaults are applied here, since `definition` carries none.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kpi_common.logging import get_logger

log = get_logger(__name__)
T = TypeVar("T")

NODE_TYPES = ("organization", "unit", "person", "kpi", "review", "alert_channel", "alert_route")
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


@dataclass(frozen=True)
class Review:
    id: str
    title: str
    cadence: str
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
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def parse_match(raw: Mapping[str, Any] | None) -> Match:
    raw = raw or {}
    return Match(
        units=frozenset(as_list(raw.get("unit"))),
        kpis=frozenset(as_list(raw.get("kpi"))),
        perspectives=frozenset(as_list(raw.get("perspective"))),
        severities=frozenset(as_list(raw.get("severity"))),
        breaches=frozenset(as_list(raw.get("breach_id"))),
    )


def _person(node_id: str, d: Mapping[str, Any]) -> Person:
    return Person(node_id, d.get("name", node_id), d.get("email"), d.get("slack"), d.get("unit"))


def _unit(node_id: str, d: Mapping[str, Any]) -> Unit:
    return Unit(node_id, d.get("name", node_id), d.get("parent"), d.get("owner"))


def _kpi(node_id: str, d: Mapping[str, Any]) -> Kpi:
    return Kpi(
        node_id, d.get("title", node_id), d.get("unit"), d.get("owner"), d.get("perspective")
    )


def parse_channel(name: str, d: Mapping[str, Any]) -> Channel | None:
    """`{slack: {webhook_url}}`, `{email: {to: [...]}}` or `{webhook: {url, secret}}`."""
    if "slack" in d:
        spec = d["slack"]
        url = spec.get("webhook_url") if isinstance(spec, Mapping) else spec
        return Channel(name, "slack", (str(url),)) if url else None
    if "email" in d:
        spec = d["email"]
        to = as_list(spec.get("to")) if isinstance(spec, Mapping) else as_list(spec)
        return Channel(name, "email", tuple(to)) if to else None
    if "webhook" in d:
        spec = d["webhook"]
        url = spec.get("url") if isinstance(spec, Mapping) else spec
        secret = spec.get("secret") if isinstance(spec, Mapping) else None
        return Channel(name, "webhook", (str(url),), secret) if url else None
    return None


def _route(node_id: str, d: Mapping[str, Any]) -> Route:
    after = d.get("escalate_after")
    return Route(
        position=int(node_id),
        match=parse_match(d.get("match")),
        notify=tuple(as_list(d.get("notify"))),
        escalate_after=parse_duration(after) if after else None,
    )


def _review(node_id: str, d: Mapping[str, Any]) -> Review:
    return Review(
        id=node_id,
        title=d.get("title") or node_id,
        cadence=d.get("cadence", "quarterly"),
        next=date.fromisoformat(str(d["next"])),
        unit=d.get("unit"),
        remind_before=tuple(parse_duration(x) for x in as_list(d.get("remind_before"))),
        attendees=tuple(as_list(d.get("attendees"))),
    )


def _parsed(
    parse: Callable[[str, Mapping[str, Any]], T | None], nodes: Mapping[str, Mapping[str, Any]]
) -> dict[str, T]:
    """Parse each node; one that cannot be understood is left out (and logged), so a bad
    definition never stops the consumer or the ticker."""
    out: dict[str, T] = {}
    for node_id, definition in nodes.items():
        try:
            parsed = parse(node_id, definition)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("node ignored", node_id=node_id, error=str(exc)[:200])
            continue
        if parsed is not None:
            out[node_id] = parsed
    return out


def build_directory(nodes: Iterable[tuple[str, str, Mapping[str, Any]]]) -> Directory:
    """A directory from (node_type, node_id, definition) rows of live (not deleted) nodes."""
    by_type: dict[str, dict[str, Mapping[str, Any]]] = {t: {} for t in NODE_TYPES}
    for node_type, node_id, definition in nodes:
        if node_type in by_type and isinstance(definition, Mapping):
            by_type[node_type][node_id] = definition
    routes = _parsed(_route, {n: d for n, d in by_type["alert_route"].items() if n.isdigit()})
    org = by_type["organization"].get("organization", {})
    return Directory(
        timezone=_timezone(org.get("timezone")),
        people=_parsed(_person, by_type["person"]),
        units=_parsed(_unit, by_type["unit"]),
        kpis=_parsed(_kpi, by_type["kpi"]),
        channels=_parsed(parse_channel, by_type["alert_channel"]),
        routes=tuple(sorted(routes.values(), key=lambda r: r.position)),
        reviews=_parsed(_review, by_type["review"]),
    )


def _timezone(name: Any) -> str:
    try:
        ZoneInfo(str(name or "UTC"))
    except (ValueError, ZoneInfoNotFoundError):
        return "UTC"
    return str(name or "UTC")
