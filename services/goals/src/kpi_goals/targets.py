"""A KPI's target as one number, where the definition makes that possible.

- `target: 50`: 50.
- `target: {increase_by: 20%}` / `{decrease_by: 10%}`: the baseline moved by that
  percentage; a plain number (`increase_by: 5`) moves the baseline by that amount.
- a range (`{min, max}`) or only per-period `targets`: no single number (None).
"""

from typing import Any


def _amount(value: Any, baseline: float) -> float | None:
    if isinstance(value, str) and value.endswith("%"):
        return baseline * float(value[:-1]) / 100
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def effective_target(definition: dict[str, Any]) -> float | None:
    target = definition.get("target")
    if isinstance(target, int | float) and not isinstance(target, bool):
        return float(target)
    baseline = definition.get("baseline")
    if not isinstance(target, dict) or not isinstance(baseline, int | float):
        return None
    for key, sign in (("increase_by", 1), ("decrease_by", -1)):
        if target.get(key) is not None:
            amount = _amount(target[key], float(baseline))
            return None if amount is None else float(baseline) + sign * amount
    return None
