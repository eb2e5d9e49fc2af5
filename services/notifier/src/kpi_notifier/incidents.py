"""One incident per cause, as plain data (docs/notifier.md#incidents).

Breaches of KPIs linked by the cascade's `contributes_to` (a region's revenue to the
company's) form one incident while it is open: its group key is the top of the chain. A
KPI that contributes to none and that none contributes to stands alone: its breaches
notify as before, at once, since nothing could join them.

An incident's notifications (one per recipient, not one per breach):
- `incident:<incident>:<breach>:<channel kind>:<recipient>`: the first that the breach
  caused to that recipient (`incident`), or a later one (`incident_update`). A breach that
  joins while such a notification still waits (the route's `group_wait`) is added to it.
- `incident:<incident>:closed:...` when its last breach resolved (`incident_closed`);
  `incident:<incident>:reminder<n>:...` and `incident:<incident>:escalation:...` for the
  reminders and escalation of its breaches.

Root causes are the members no other member contributes to (the leaves); a cause's share
is its gap over its nearest member parent's gap, else over the causes' summed gaps. A gap
is the shortfall to date: `|expected - actual|` (the target when no expectation is given).
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kpi_notifier.directory import Directory
from kpi_notifier.routing import Breach, Recipient, choose_route

INCIDENT_KINDS = ("incident", "incident_update", "incident_closed")


def chain_up(directory: Directory, kpi_id: str) -> list[str]:
    """`kpi_id` and the KPIs it contributes to, nearest first (cycles cut)."""
    out: list[str] = []
    current: str | None = kpi_id
    while current is not None and current not in out:
        out.append(current)
        kpi = directory.kpis.get(current)
        current = kpi.contributes_to if kpi else None
    return out


def group_key(directory: Directory, kpi_id: str) -> str | None:
    """The top of the KPI's `contributes_to` chain when the cascade links it to another KPI;
    None for a KPI that stands alone."""
    chain = chain_up(directory, kpi_id)
    below = any(k.contributes_to == kpi_id for k in directory.kpis.values())
    return chain[-1] if len(chain) > 1 or below else None


def incident_id(tenant_id: str, first_breach_id: str) -> str:
    return "inc-" + hashlib.sha256(f"{tenant_id}:{first_breach_id}".encode()).hexdigest()[:12]


def dedup_key(incident: str, event: str, recipient: Recipient) -> str:
    return f"incident:{incident}:{event}:{recipient.kind}:{recipient.to}"


def group_wait_s(directory: Directory, breach: Breach, default_s: float) -> float:
    """How long a new notification of the incident waits for more breaches: the breach's
    route's `group_wait`, else the notifier's default."""
    route = choose_route(directory, breach)
    wait = route.group_wait_s if route is not None else None
    return default_s if wait is None else wait


def gap(facts: Mapping[str, Any]) -> float | None:
    reference = facts.get("expected")
    reference = facts.get("target") if reference is None else reference
    actual = facts.get("actual")
    if reference is None or actual is None:
        return None
    return abs(float(reference) - float(actual))


@dataclass(frozen=True)
class Shares:
    causes: list[Breach]
    parents: list[Breach]
    shares: dict[str, float | None]


def _nearest_parent(
    directory: Directory, leaf: Breach, by_kpi: Mapping[str, Breach]
) -> Breach | None:
    return next((by_kpi[k] for k in chain_up(directory, leaf.kpi_id)[1:] if k in by_kpi), None)


def _share(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else round(part / whole, 4)


def shares(directory: Directory, members: Sequence[Breach]) -> Shares:
    """The root causes of an incident, its parents, and each cause's share of the gap."""
    above = {k for m in members for k in chain_up(directory, m.kpi_id)[1:]}
    causes = [m for m in members if m.kpi_id not in above]
    parents = [m for m in members if m.kpi_id in above]
    by_kpi = {m.kpi_id: m for m in parents}
    summed = sum(g for g in (gap(c.facts) for c in causes) if g is not None)
    out: dict[str, float | None] = {}
    for cause in causes:
        parent = _nearest_parent(directory, cause, by_kpi)
        whole = gap(parent.facts) if parent is not None else None
        out[cause.breach_id] = _share(gap(cause.facts), whole or summed)
    return Shares(causes, parents, out)


def _item(breach: Breach, share: float | None = None) -> dict[str, Any]:
    facts = breach.facts
    keys = ("kpi_id", "kpi_title", "unit_id", "period", "status", "severity", "actual",
            "target", "expected", "unit_of_measure")  # fmt: skip
    return {
        **{k: facts.get(k) for k in keys},
        "breach_id": breach.breach_id,
        "resolved": breach.resolved_at is not None,
        "gap": gap(facts),
        "share": share,
    }


def summary(directory: Directory, members: Sequence[Breach]) -> dict[str, Any]:
    """What an incident's notification and `GET /v1/incidents/{id}` show of its breaches:
    `causes` (with `share`), `parents`, and the `so_that` chain of the top breach."""
    found = shares(directory, members)
    top = _topmost(directory, found.parents) or next(iter(found.causes), None)
    return {
        "causes": [_item(c, found.shares[c.breach_id]) for c in found.causes],
        "parents": [_item(p) for p in found.parents],
        "so_that_chain": list(top.facts.get("so_that_chain") or []) if top else [],
    }


def _topmost(directory: Directory, parents: Iterable[Breach]) -> Breach | None:
    """The parent highest in the cascade (the longest way down to it)."""
    ranked = sorted(parents, key=lambda p: len(chain_up(directory, p.kpi_id)))
    return ranked[0] if ranked else None


def thread_headers(kind: str, incident: str, recipient: str, key: str) -> dict[str, str]:
    """Email headers that keep an incident's notifications to one recipient in one
    thread: the first is the thread's root; the others reply to it."""
    person = hashlib.sha256(recipient.encode()).hexdigest()[:12]
    root = f"<{incident}.{person}@kpi-cascade>"
    if kind == "incident":
        return {"Message-ID": root}
    own = f"<{hashlib.sha256(key.encode()).hexdigest()[:24]}@kpi-cascade>"
    return {"Message-ID": own, "In-Reply-To": root, "References": root}
