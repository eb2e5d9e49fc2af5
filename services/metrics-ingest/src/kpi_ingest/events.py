"""Pure rules for incoming metric events: the accepted shapes (plain JSON and CloudEvents
1.0), the limits, and the result of a request. No I/O here."""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kpi_common.retention import oldest_counted

METRIC_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
DIMENSION_KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
MAX_ID_CHARS = 200
MAX_METRIC_CHARS = 128
PLAIN_FIELDS = frozenset({"id", "metric", "value", "time", "dimensions"})
CE_FIELDS = frozenset(
    {
        "specversion",
        "id",
        "source",
        "type",
        "time",
        "data",
        "datacontenttype",
        "subject",
        "dataschema",
    }
)

Scalar = str | int | float | bool


@dataclass(frozen=True)
class Limits:
    """The per-event limits; each rejection reason names the limit it broke."""

    max_future: timedelta
    archive_retention_months: int  # the evaluator counts no event older than its archive keeps
    max_dimensions: int
    max_dimension_key_chars: int
    max_dimension_value_chars: int


@dataclass(frozen=True)
class Event:
    """A valid metric event, ready to be claimed and produced."""

    id: str
    metric: str
    value: float
    time: datetime
    dimensions: dict[str, Scalar]


@dataclass(frozen=True)
class Rejection:
    index: int | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "reason": self.reason}


class EventError(ValueError):
    """One event breaks one rule; the message starts with the field it is about."""


@dataclass(frozen=True)
class Checked:
    """A request's events after validation, in request order."""

    events: list[Event]
    rejected: list[Rejection]


def check_all(items: Sequence[object], limits: Limits, now: datetime) -> Checked:
    events: list[Event] = []
    rejected: list[Rejection] = []
    for index, item in enumerate(items):
        try:
            events.append(check_event(item, limits, now))
        except EventError as exc:
            rejected.append(Rejection(index, str(exc)))
    return Checked(events, rejected)


def check_event(item: object, limits: Limits, now: datetime) -> Event:
    """Validate one event in either shape against the limits."""
    if not isinstance(item, dict):
        raise EventError("event: must be a JSON object")
    plain = from_cloudevent(item) if "specversion" in item else _plain(item)
    return Event(
        id=_id(plain.get("id")),
        metric=_metric(plain.get("metric")),
        value=_value(plain.get("value")),
        time=_time(plain.get("time"), limits, now),
        dimensions=_dimensions(plain.get("dimensions"), limits),
    )


def _plain(item: Mapping[str, Any]) -> Mapping[str, Any]:
    if PLAIN_FIELDS.issuperset(item):  # the hot path: no set built, nothing sorted
        return item
    unknown = sorted(set(item) - PLAIN_FIELDS)
    if unknown:
        raise EventError(
            f"{unknown[0]}: unknown field (allowed: {', '.join(sorted(PLAIN_FIELDS))})"
        )
    return item


def from_cloudevent(ce: Mapping[str, Any]) -> dict[str, Any]:
    """CloudEvents 1.0: `type` is the metric, `data` holds `value` and `dimensions`."""
    if ce.get("specversion") != "1.0":
        raise EventError("specversion: only CloudEvents 1.0 is accepted")
    data = ce.get("data")
    if not isinstance(data, dict):
        raise EventError("data: must be an object with value and dimensions")
    extra = sorted(set(data) - {"value", "dimensions"})
    if extra:
        raise EventError(f"data.{extra[0]}: unknown field (allowed: dimensions, value)")
    return {
        "id": ce.get("id"),
        "metric": ce.get("type"),
        "time": ce.get("time"),
        "value": data.get("value"),
        "dimensions": data.get("dimensions"),
    }


def _id(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise EventError("id: required, a non-empty string")
    if len(value) > MAX_ID_CHARS:
        raise EventError(f"id: longer than the limit of {MAX_ID_CHARS} characters")
    if CONTROL_CHARS.search(value):
        raise EventError("id: must not contain control characters")
    return value


def _metric(value: object) -> str:
    if not isinstance(value, str):
        raise EventError("metric: required, a string such as crm.deal.won")
    if len(value) > MAX_METRIC_CHARS:
        raise EventError(f"metric: longer than the limit of {MAX_METRIC_CHARS} characters")
    if not METRIC_PATTERN.match(value):
        raise EventError(f"metric: must match the pattern {METRIC_PATTERN.pattern}")
    return value


def _value(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventError("value: required, a number")
    number = float(value)
    if not math.isfinite(number):
        raise EventError("value: must be a finite number")
    return number


def _time(value: object, limits: Limits, now: datetime) -> datetime:
    if value is None:
        return now
    if not isinstance(value, str):
        raise EventError("time: must be an RFC 3339 timestamp string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise EventError("time: not an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise EventError("time: must carry a timezone (Z or +hh:mm)")
    if parsed - now > limits.max_future:
        minutes = int(limits.max_future.total_seconds() // 60)
        raise EventError(f"time: more than the limit of {minutes} minutes in the future")
    oldest = oldest_counted(now, limits.archive_retention_months)
    if parsed < oldest:
        raise EventError(
            f"time: before {oldest:%Y-%m-%d}, the start of the oldest month counted "
            f"({limits.archive_retention_months} months before this one)"
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise EventError("time: out of the representable range") from None


def _dimensions(value: object, limits: Limits) -> dict[str, Scalar]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventError("dimensions: must be an object")
    if len(value) > limits.max_dimensions:
        raise EventError(f"dimensions: more than the limit of {limits.max_dimensions} entries")
    for key, item in value.items():
        _dimension(key, item, limits)
    return value


def _dimension(key: str, item: object, limits: Limits) -> None:
    if len(key) > limits.max_dimension_key_chars:
        raise EventError(
            f"dimensions: key longer than the limit of {limits.max_dimension_key_chars} characters"
        )
    if not DIMENSION_KEY_PATTERN.match(key):
        raise EventError(f"dimensions: key must match {DIMENSION_KEY_PATTERN.pattern}")
    if isinstance(item, str):
        if len(item) > limits.max_dimension_value_chars:
            raise EventError(
                f"dimensions.{key}: longer than the limit of "
                f"{limits.max_dimension_value_chars} characters"
            )
    elif isinstance(item, float):
        if not math.isfinite(item):
            raise EventError(f"dimensions.{key}: must be a finite number")
    elif not isinstance(item, int | bool):
        raise EventError(f"dimensions.{key}: must be a string, number or boolean")


def first_occurrences(events: Sequence[Event]) -> tuple[list[Event], int]:
    """Drop repeats of an id within one request: the first one counts, later ones are
    duplicates. Returns the unique events and how many repeats were dropped."""
    seen: set[str] = set()
    unique: list[Event] = []
    for event in events:
        if event.id not in seen:
            seen.add(event.id)
            unique.append(event)
    return unique, len(events) - len(unique)
