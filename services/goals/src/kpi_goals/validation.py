"""Validate a whole strategy document: types and shape (pydantic), then duplicates,
references, cycles and the rules that span fields. Every problem is reported at once, each
with its field path and, for YAML, its line."""

import re
from datetime import date
from typing import Any

from kpi_common.errors import FieldError, Invalid, loc_to_path
from pydantic import ValidationError

from kpi_goals import burn_rules
from kpi_goals.document import PERIOD_LABELS, UNION_TAGS, StrategyDocument
from kpi_goals.parsing import Source
from kpi_goals.references import Path_, Problem, cycles, duplicate_ids, entries, unknown_references


def validate(source: Source) -> StrategyDocument:
    """The validated document, or Invalid listing every problem."""
    raw = source.data
    document, problems = _shape(raw)
    if isinstance(raw, dict):
        problems += duplicate_ids(raw) + unknown_references(raw) + cycles(raw)
        problems += _targets(raw) + _channels(raw)
    if document is not None:
        problems += burn_rules.problems(document)
    if problems or document is None:
        errors = [FieldError(loc_to_path(p), m, source.line_of(p)) for p, m in _unique(problems)]
        errors.sort(key=lambda e: e.line or 0)
        raise Invalid(f"the strategy document has {len(errors)} error(s)", errors)
    return document


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out: list[Problem] = []
    for path, message in problems:
        key = (loc_to_path(path), message)
        if key not in seen:
            seen.add(key)
            out.append((path, message))
    return out


def _shape(raw: Any) -> tuple[StrategyDocument | None, list[Problem]]:
    try:
        return StrategyDocument.model_validate(raw), []
    except ValidationError as exc:
        return None, [(document_path(raw, e["loc"]), e["msg"]) for e in exc.errors()]


def document_path(raw: Any, loc: tuple[int | str, ...]) -> Path_:
    """A pydantic location as a path through the document: union tags dropped."""
    out: list[int | str] = []
    current = raw
    for i, part in enumerate(loc):
        if isinstance(part, str) and part in UNION_TAGS:
            continue
        last = i == len(loc) - 1
        if _contains(current, part):
            current = current[part]
        elif not last:
            continue
        out.append(part)
    return tuple(out)


def _contains(container: Any, part: int | str) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and part < len(container)


def _targets(raw: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for i, kpi in entries(raw, "kpis"):
        problems += _relative_target(i, kpi) + _period_targets(i, kpi) + _band(i, kpi)
        target = kpi.get("target")
        if _inverted_range(target):
            problems.append((("kpis", i, "target", "min"), "min is greater than max"))
    return problems


def _inverted_range(target: Any) -> bool:
    if not isinstance(target, dict):
        return False
    low, high = target.get("min"), target.get("max")
    numbers = [v for v in (low, high) if isinstance(v, int | float) and not isinstance(v, bool)]
    return len(numbers) == 2 and numbers[0] > numbers[1]


def _band(i: int, kpi: dict[str, Any]) -> list[Problem]:
    """`direction: range` and a target band `{min, max}` go together, and only together."""
    target = kpi.get("target")
    is_band = isinstance(target, dict) and bool({"min", "max"} & set(target))
    if kpi.get("direction") == "range":
        if not is_band:
            return [(("kpis", i, "target"), "direction: range needs a target band {min, max}")]
        if kpi.get("targets"):
            return [(("kpis", i, "targets"), "per-period targets are numbers: not for a range")]
    elif is_band:
        return [(("kpis", i, "direction"), "a target band {min, max} needs direction: range")]
    return []


def _relative_target(i: int, kpi: dict[str, Any]) -> list[Problem]:
    target = kpi.get("target")
    if not isinstance(target, dict) or {"min", "max"} & set(target):
        return []
    given = [k for k in ("increase_by", "decrease_by") if target.get(k) is not None]
    if len(given) != 1:
        return [(("kpis", i, "target"), "give exactly one of increase_by or decrease_by")]
    if kpi.get("baseline") is None:
        return [(("kpis", i, "baseline"), f"a target {given[0]} needs a baseline")]
    return []


def _period_targets(i: int, kpi: dict[str, Any]) -> list[Problem]:
    targets = kpi.get("targets")
    if not isinstance(targets, list):
        return []
    period = kpi.get("period")
    if not isinstance(period, str) or period not in PERIOD_LABELS:
        return [(("kpis", i, "targets"), "per-period targets need a calendar period")]
    problems: list[Problem] = []
    seen: set[str] = set()
    for j, item in enumerate(targets):
        label = item.get("period") if isinstance(item, dict) else None
        if not isinstance(label, str):
            continue
        path: Path_ = ("kpis", i, "targets", j, "period")
        if not re.fullmatch(PERIOD_LABELS[period], label) or not _real_day(period, label):
            problems.append((path, f"{label!r} is not a {period} period"))
        elif label in seen:
            problems.append((path, f"duplicate period {label!r}"))
        seen.add(label)
    return problems


def _real_day(period: str, label: str) -> bool:
    if period != "day":
        return True
    try:
        date.fromisoformat(label)
    except ValueError:
        return False
    return True


def _channels(raw: dict[str, Any]) -> list[Problem]:
    alerts = raw.get("alerts")
    channels = alerts.get("channels") if isinstance(alerts, dict) else None
    if not isinstance(channels, dict):
        return []
    kinds = ("slack", "email", "webhook")
    return [
        (("alerts", "channels", name), "give exactly one of slack, email or webhook")
        for name, channel in channels.items()
        if isinstance(channel, dict) and sum(channel.get(k) is not None for k in kinds) != 1
    ]
