"""The opt-in weekly scorecard digest, as plain rules: for each subscribed unit, once per
ISO week from Monday 08:00 in the organisation's timezone, the unit owner gets the latest
status of every KPI in the unit's subtree."""

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kpi_notifier.directory import Directory
from kpi_notifier.planning import Planned
from kpi_notifier.routing import Recipient

SEND_AT = time(8, 0)


def week_due(now: datetime, tz: str) -> str | None:
    """The ISO week (`2026-W09`) whose digest is due at `now`, or None before Monday 08:00."""
    local = now.astimezone(ZoneInfo(tz))
    monday = (local - timedelta(days=local.weekday())).date()
    if local < datetime.combine(monday, SEND_AT, tzinfo=ZoneInfo(tz)):
        return None
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def unit_kpis(
    directory: Directory, unit_id: str, statuses: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every KPI in the unit's subtree with its latest status (no_data when none yet)."""
    rows = []
    for kpi in sorted(directory.kpis.values(), key=lambda k: k.id):
        if kpi.unit is None or unit_id not in directory.ancestors(kpi.unit):
            continue
        facts = statuses.get(kpi.id, {})
        rows.append({"kpi_id": kpi.id, "title": kpi.title, "status": "no_data", **facts})
    return rows


def plan_scorecard(
    directory: Directory,
    unit_id: str,
    week: str,
    statuses: Mapping[str, Mapping[str, Any]],
) -> list[Planned]:
    owner = directory.unit_owner(unit_id)
    if owner is None:
        return []
    unit = directory.units.get(unit_id)
    context = {
        "kind": "scorecard",
        "week": week,
        "unit": {"id": unit_id, "name": unit.name if unit else unit_id},
        "kpis": unit_kpis(directory, unit_id, statuses),
    }
    key = f"scorecard:{unit_id}:{week}:email:{owner}"
    return [Planned(key, "digest", Recipient(kind="email", to=owner), context)]
