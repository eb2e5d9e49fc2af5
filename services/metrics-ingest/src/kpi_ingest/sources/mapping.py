"""Declarative mapping from a raw payload to metric events, with JMESPath (pure).

A mapping is a list of rules. Each rule selects items (`for_each`, default: the payload
itself), keeps those where `when` is true, and evaluates `id`, `metric`, `value`, `time`
and each dimension against the item. Constants are JMESPath literals (`'crm.deal.won'`).
The output is raw events in the plain shape, validated afterwards like POST /v1/events."""

from datetime import UTC, datetime
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import BaseModel, ConfigDict, Field, field_validator


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    for_each: str = "@"
    when: str | None = None
    id: str
    metric: str
    value: str
    time: str | None = None
    dimensions: dict[str, str] = Field(default_factory=dict)

    @field_validator("for_each", "when", "id", "metric", "value", "time")
    @classmethod
    def _compiles(cls, expression: str | None) -> str | None:
        if expression is not None:
            try:
                jmespath.compile(expression)
            except JMESPathError as exc:
                raise ValueError(f"not a JMESPath expression: {exc}") from None
        return expression


class MappingError(ValueError):
    """The payload cannot be mapped; the message says which expression failed."""


def apply(rules: list[Rule], payload: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for n, rule in enumerate(rules):
        items = _search(rule.for_each, payload)
        items = items if isinstance(items, list) else [] if items is None else [items]
        for item in items:
            if rule.when is None or _search(rule.when, item) is True:
                events.append(_event(rule, item, n))
    if not events:
        raise MappingError("the mapping produced no events from this payload")
    return events


def _event(rule: Rule, item: Any, n: int) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": _required(rule.id, item, n, "id"),
        "metric": _required(rule.metric, item, n, "metric"),
        "value": _number(_required(rule.value, item, n, "value")),
        "dimensions": {
            k: v for k, e in rule.dimensions.items() if (v := _search(e, item)) is not None
        },
    }
    if rule.time is not None:
        event["time"] = _time(_search(rule.time, item))
    if not isinstance(event["id"], str):
        event["id"] = str(event["id"])
    return event


def _search(expression: str, data: Any) -> Any:
    try:
        return jmespath.search(expression, data)
    except JMESPathError as exc:
        raise MappingError(f"expression {expression!r} failed: {exc}") from None


def _required(expression: str, item: Any, n: int, field: str) -> Any:
    value = _search(expression, item)
    if value is None:
        raise MappingError(f"rules[{n}].{field}: {expression!r} gave no value")
    return value


def _number(value: Any) -> Any:
    """Vendors send amounts as strings ("1000.50"); numeric strings become numbers."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _time(value: Any) -> Any:
    """ISO strings pass through; epoch numbers (ms when over 1e11, else s) become ISO."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return str(value)
    return value
