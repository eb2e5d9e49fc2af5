"""Who hears about a burn-rate alert (`kpi.burn_rate.fired` / `.resolved`), as plain data.

- A rule declared on an alert route goes to that route's `notify`; a rule declared on the
  KPI goes where a breach of that KPI with the rule's severity would (the first matching
  route, else the KPI owner). Silences hold it back like a breach.
- One delivery per transition per recipient, ever: dedup key
  `burn:<alert id>:<fired|resolved>:<channel kind>:<recipient>`. No reminders, no
  escalation, no digest.
- A `mode: shadow` alert is never sent (the shadow log records it).
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from kpi_notifier.directory import Directory
from kpi_notifier.planning import Kind, Planned
from kpi_notifier.routing import (
    Breach,
    Recipient,
    Silence,
    breach_owner,
    recipients,
    resolve_names,
    silenced_by,
)


def as_breach(tenant_id: str, facts: Mapping[str, Any], fired_at: datetime) -> Breach:
    """The alert in the shape routes and silences match on."""
    return Breach(
        tenant_id=tenant_id,
        breach_id=str(facts["alert_id"]),
        kpi_id=str(facts["kpi_id"]),
        unit_id=str(facts["unit_id"]),
        owner=facts.get("owner"),
        perspective=facts.get("perspective"),
        severity=str(facts["severity"]),
        opened_at=fired_at,
        facts=facts,
    )


def _recipients(directory: Directory, alert: Breach, route_id: str | None) -> list[Recipient]:
    route = next((r for r in directory.routes if str(r.position) == route_id), None)
    if route is not None:
        found, unknown = resolve_names(directory, route.notify, breach_owner(directory, alert))
    else:
        found, unknown = recipients(directory, alert)
    return found + [Recipient(kind="email", to=name) for name in unknown]


def plan_burn(
    directory: Directory,
    alert: Breach,
    event: str,
    silences: Iterable[Silence],
    now: datetime,
) -> list[Planned]:
    """`event` "fired" or "resolved": one planned delivery per recipient."""
    kind: Kind = "burn" if event == "fired" else "burn_resolved"
    silence = silenced_by(directory, silences, alert, now)
    route_id = alert.facts.get("route_id")
    return [
        Planned(
            dedup_key=f"burn:{alert.breach_id}:{event}:{r.kind}:{r.to}",
            kind=kind,
            recipient=r,
            context={"kind": kind, "alert": dict(alert.facts)},
            suppressed_by=silence.id if silence else None,
        )
        for r in _recipients(directory, alert, route_id)
    ]
