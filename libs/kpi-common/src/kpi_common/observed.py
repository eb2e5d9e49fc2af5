"""`metric.observed` v1, the one event type on a hot path, decoded with msgspec.

The pydantic models of `kpi_common.events` stay the contract. The structs here accept a
subset of what it accepts and read it the same: the same fields, lengths and defaults, no
unknown field, stricter types (a number is a JSON number, never a string or a bool; integers
in dimensions within int64) and times in one RFC 3339 shape (`T`, at most 6 digits of
fraction, `Z` or `±HH:MM`), parsed by `datetime.fromisoformat`. Whatever they refuse is
decoded by the contract's own `decode`, so which messages are accepted, and the reason each
other one is dead-lettered, stay the contract's. `tests/unit/kpi_common/test_observed.py`
holds the two to that over generated envelopes.
"""

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from kpi_common.events import Envelope, MetricObserved

Scalar = str | int | float | bool

# pydantic truncates a fraction past 6 digits where msgspec rounds, and refuses offset
# minutes past 59 that fromisoformat takes: neither shape is allowed here.
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_MAX_PARSED = 4096
_parsed: dict[str, datetime] = {}  # envelope and receive times repeat across a request's events

_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
_NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
# orjson (the contract's parser) reads an integer beyond 64 bits as a float
_Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class _Data(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    metric: str
    value: float
    time: str
    dimensions: dict[str, str | _Int | float | bool] = {}
    source_id: str = "api"
    received_at: str


class _Envelope(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: _Id
    type: Literal["metric.observed"]
    version: Literal[1]
    tenant_id: _NonEmpty
    time: str
    producer: str
    data: _Data


_decoder = msgspec.json.Decoder(_Envelope)


class Observed(msgspec.Struct, frozen=True, gc=False):
    """A `metric.observed` v1 message as the contract reads it: the envelope's id and
    tenant, and its data with the times parsed."""

    id: str
    tenant_id: str
    metric: str
    value: float
    time: datetime
    dimensions: Mapping[str, Scalar]
    source_id: str
    received_at: datetime


def decode_observed(raw: bytes) -> Observed | None:
    """The message when it is a `metric.observed` v1 of the shapes above, else None: then
    `kpi_common.events.decode` says whether the contract accepts it, and why not."""
    try:
        env = _decoder.decode(raw)
        _aware(env.time)
        d = env.data
        time, received_at = _aware(d.time), _aware(d.received_at)
    except (msgspec.DecodeError, ValueError, TypeError):  # TypeError: no bytes (a tombstone)
        return None
    return Observed(
        env.id, env.tenant_id, d.metric, d.value, time, d.dimensions, d.source_id, received_at
    )


def observed_of(envelope: Envelope, data: MetricObserved) -> Observed:
    """The same reading of a message the contract accepted and the structs refused."""
    return Observed(
        envelope.id,
        envelope.tenant_id,
        data.metric,
        data.value,
        data.time,
        data.dimensions,
        data.source_id,
        data.received_at,
    )


def _aware(text: str) -> datetime:
    at = _parsed.get(text)
    if at is None:
        if _TIME.fullmatch(text) is None:
            raise ValueError(f"not a time of the fast shape: {text!r}")
        at = datetime.fromisoformat(text)
        if len(_parsed) >= _MAX_PARSED:
            _parsed.clear()
        _parsed[text] = at
    return at
