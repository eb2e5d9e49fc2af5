"""The target of a KPI for one period.

- `target: 50`: 50 in every period.
- `target: {increase_by: 20%}` / `{decrease_by: 10%}`: the baseline moved by that
  percentage (a plain number moves it by that amount).
- `target: {min: a, max: b}`: a range; the KPI is on target inside it.
- `targets: [{period: 2026-Q1, value: 200}, ...]`: the value listed for that period key;
  a period the list does not name falls back to `target`, else it has no target.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    value: float | None = None
    low: float | None = None
    high: float | None = None

    @property
    def is_range(self) -> bool:
        return self.low is not None and self.high is not None

    @property
    def headline(self) -> float | None:
        """One number to show: the value, or a range's midpoint."""
        if self.is_range:
            assert self.low is not None
            assert self.high is not None
            return (self.low + self.high) / 2
        return self.value


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _amount(value: Any, baseline: float) -> float | None:
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return baseline * float(value.strip()[:-1]) / 100
        except ValueError:
            return None
    return _number(value)


def _relative(target: Mapping[str, Any], baseline: float | None) -> Target | None:
    if baseline is None:
        return None
    for key, sign in (("increase_by", 1.0), ("decrease_by", -1.0)):
        if target.get(key) is not None:
            amount = _amount(target[key], baseline)
            return None if amount is None else Target(value=baseline + sign * amount)
    return None


def target_for(definition: Mapping[str, Any], period_key: str) -> Target | None:
    entries = definition.get("targets")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping):
            continue
        if str(entry.get("period")) == period_key and _number(entry.get("value")) is not None:
            return Target(value=_number(entry["value"]))
    raw = definition.get("target")
    if _number(raw) is not None:
        return Target(value=_number(raw))
    if isinstance(raw, Mapping):
        if _number(raw.get("min")) is not None and _number(raw.get("max")) is not None:
            return Target(low=_number(raw["min"]), high=_number(raw["max"]))
        return _relative(raw, _number(definition.get("baseline")))
    return None
