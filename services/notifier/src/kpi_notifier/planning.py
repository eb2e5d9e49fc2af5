"""What to send, as plain data: one planned delivery per breach transition per recipient per
channel, each with the dedup key that makes it happen once, ever.

Dedup keys: `<breach>:<event>:<channel kind>:<recipient>`, e.g.
`brc-1:opened:email:dana`, `brc-1:reminder2:slack:sales-slack`, `brc-1:escalation:email:morgan`.
A restatement (a breach of a period past the evaluator's paging horizon) is not a page: all
the breaches of one run (`restatement_id`) share one notice per route and recipient,
`restatement:<restatement id>:<route>:<channel kind>:<recipient>`, and get no reminder and
no escalation.
A recipient name that matches no person or channel still gets a planned delivery, so the
problem shows up in the delivery log as a dead letter instead of disappearing.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from kpi_notifier.directory import Directory
from kpi_notifier.incidents import INCIDENT_KINDS
from kpi_notifier.routing import (
    Breach,
    Recipient,
    Silence,
    choose_route,
    escalation_target,
    recipients,
    silenced_by,
)
from kpi_notifier.shadow import Mode, shadow_key, shadow_recipients, shadow_routes, transition_mode

Kind = Literal[
    "breach",
    "resolved",
    "reminder",
    "escalation",
    "review",
    "digest",
    "test",
    "restatement",
    "burn",  # burn-rate alerts (kpi_notifier.burn_planning)
    "burn_resolved",
    "incident",
    "incident_update",
    "incident_closed",
]


@dataclass(frozen=True)
class Planned:
    dedup_key: str
    kind: Kind
    recipient: Recipient
    context: dict[str, Any] = field(default_factory=dict)
    breach_id: str | None = None
    suppressed_by: str | None = None
    mode: Mode = "live"  # shadow: recorded in the shadow log, never sent (shadow.py)
    route: int | None = None  # the shadow route's position, for a shadow route's delivery


def _breach_context(breach: Breach, kind: Kind, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "breach": dict(breach.facts), **extra}


def route_recipients(directory: Directory, breach: Breach) -> list[Recipient]:
    """The breach's route's recipients; an unknown name as an email that will fail."""
    found, unknown = recipients(directory, breach)
    return found + [Recipient(kind="email", to=name) for name in unknown]


def _plan(
    breach: Breach,
    event: str,
    kind: Kind,
    to: Sequence[Recipient],
    silence: Silence | None,
    **extra: Any,
) -> list[Planned]:
    return [
        Planned(
            dedup_key=f"{breach.breach_id}:{event}:{r.kind}:{r.to}",
            kind=kind,
            recipient=r,
            context=_breach_context(breach, kind, **extra),
            breach_id=breach.breach_id,
            suppressed_by=silence.id if silence else None,
            mode=transition_mode(breach.facts),
        )
        for r in to
    ]


def _with_shadows(
    directory: Directory,
    breach: Breach,
    live: list[Planned],
    event: str,
    kind: Kind,
    silence: Silence | None,
    **extra: Any,
) -> list[Planned]:
    """`live` plus what each matching shadow route would send for the same transition."""
    return live + [
        replace(p, dedup_key=shadow_key(route.position, p.dedup_key), mode="shadow",
                route=route.position)
        for route in shadow_routes(directory, breach)
        for p in _plan(breach, event, kind, shadow_recipients(directory, route, breach),
                       silence, **extra)
    ]  # fmt: skip


def plan_opened(
    directory: Directory, breach: Breach, silences: Iterable[Silence], now: datetime
) -> list[Planned]:
    silence = silenced_by(directory, silences, breach, now)
    live = _plan(breach, "opened", "breach", route_recipients(directory, breach), silence)
    return _with_shadows(directory, breach, live, "opened", "breach", silence)


def plan_resolved(
    directory: Directory, breach: Breach, silences: Iterable[Silence], now: datetime
) -> list[Planned]:
    silence = silenced_by(directory, silences, breach, now)
    live = _plan(breach, "resolved", "resolved", route_recipients(directory, breach), silence)
    return _with_shadows(directory, breach, live, "resolved", "resolved", silence)


def _restated_item(breach: Breach, event: str) -> dict[str, Any]:
    return {"event": event, **breach.facts}


def plan_restatement(
    directory: Directory, breach: Breach, event: str, silences: Iterable[Silence], now: datetime
) -> list[Planned]:
    """The run's notice to each recipient of the breach's route, carrying this breach (a
    breach a silence matches is left out of it)."""
    if silenced_by(directory, silences, breach, now) is not None:
        return []
    route = choose_route(directory, breach)
    name = f"route{route.position}" if route is not None else "owner"
    facts = breach.facts
    context = {
        "kind": "restatement",
        "restatement_id": breach.restatement_id,
        "reason": facts.get("restatement_reason"),
        "restated": {f"{breach.breach_id}:{event}": _restated_item(breach, event)},
    }
    return [
        Planned(
            dedup_key=f"restatement:{breach.restatement_id}:{name}:{r.kind}:{r.to}",
            kind="restatement",
            recipient=r,
            context=context,
            mode=transition_mode(facts),
        )
        for r in route_recipients(directory, breach)
    ]


def reminder_due(breach: Breach, interval: timedelta, now: datetime) -> int | None:
    """The number of the reminder due now for an open, unacknowledged breach, if any: the
    n-th reminder falls `n * interval` after the breach opened. Restatements have none."""
    if not breach.pages or breach.resolved_at or breach.acked_at or interval <= timedelta(0):
        return None
    n = (now - breach.opened_at) // interval
    return n if n >= 1 and n > breach.reminders_sent else None


def plan_reminder(
    directory: Directory, breach: Breach, n: int, silences: Iterable[Silence], now: datetime
) -> list[Planned]:
    silence = silenced_by(directory, silences, breach, now)
    live = _plan(breach, f"reminder{n}", "reminder", route_recipients(directory, breach),
                 silence, reminder=n)  # fmt: skip
    return _with_shadows(directory, breach, live, f"reminder{n}", "reminder", silence, reminder=n)


def escalation_due(directory: Directory, breach: Breach, now: datetime) -> bool:
    """True once an open breach stayed unacknowledged past its route's `escalate_after`
    (never for a restatement)."""
    if not breach.pages or breach.resolved_at or breach.acked_at or breach.escalated_at:
        return False
    route = choose_route(directory, breach)
    if route is None or route.escalate_after is None:
        return False
    return now >= breach.opened_at + route.escalate_after


def plan_escalation(
    directory: Directory, breach: Breach, silences: Iterable[Silence], now: datetime
) -> list[Planned]:
    target = escalation_target(directory, breach)
    if target is None:
        return []
    silence = silenced_by(directory, silences, breach, now)
    to = [Recipient(kind="email", to=target)]
    return _plan(breach, "escalation", "escalation", to, silence, escalated_to=target)


BREACH_KINDS = ("breach", "reminder", "escalation", "resolved")


def announced(kind: str, context: dict[str, Any], breach_id: str | None) -> list[str]:
    """The breaches a delivery row is about: an incident notification's gathered breaches
    (`context["breaches"]`; the closing one's are none, so the breach that closed it), else
    the row's own breach, if any."""
    gathered = [str(b) for b in context.get("breaches") or []] if kind in INCIDENT_KINDS else []
    return gathered or ([breach_id] if breach_id else [])


def hold_back(
    kind: str,
    breaches: Sequence[Breach],
    directory: Directory,
    silences: Iterable[Silence],
    now: datetime,
) -> tuple[str, str] | None:
    """Checked again just before sending, since rows can wait (digest window, retries, an
    incident's grouping window): a reminder or escalation of a breach acknowledged or
    resolved meanwhile is `cancelled`; a breach notice, or an incident notification every
    breach of which (`announced`), under a silence created meanwhile is `suppressed`.
    None: send it."""
    if not breaches or kind not in (*BREACH_KINDS, *INCIDENT_KINDS):
        return None
    first = breaches[0]
    if kind in ("reminder", "escalation") and (first.acked_at or first.resolved_at):
        return "cancelled", "acknowledged" if first.acked_at else "resolved"
    held = [s for b in breaches if (s := silenced_by(directory, silences, b, now)) is not None]
    return ("suppressed", held[0].id) if len(held) == len(breaches) else None
