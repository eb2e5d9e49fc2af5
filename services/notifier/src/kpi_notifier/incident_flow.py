"""What a paging breach does to incidents, in the consumer's (or ticker's) transaction:
open or join its group's incident and plan one notification per recipient, or (muted,
silenced, or standing alone) fall back to the breach's own notices. The rules are in
`incidents` and `inhibition`; the SQL in `incidents_repo`."""

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kpi_notifier import metrics
from kpi_notifier.deliveries import Deliveries
from kpi_notifier.directory import Directory
from kpi_notifier.incidents import (
    dedup_key,
    group_key,
    group_wait_s,
    incident_id,
    summary,
)
from kpi_notifier.incidents_repo import Incidents
from kpi_notifier.inhibition import inhibited_by, inhibition_id
from kpi_notifier.planning import Kind, Planned, plan_opened, route_recipients
from kpi_notifier.repository import Repository
from kpi_notifier.routing import Breach, Recipient, Silence, silenced_by


async def opened(
    session: AsyncSession,
    directory: Directory,
    breach: Breach,
    silences: Iterable[Silence],
    now: datetime,
    default_wait_s: float,
) -> list[Planned] | None:
    """The breach's own notices to record (muted ones `suppressed` by their inhibition
    rule), or None when it joined an incident whose notifications are planned already."""
    silences = list(silences)
    muted = inhibited_by(
        directory, breach, await Incidents(session).open_breaches(breach.tenant_id)
    )
    key = group_key(directory, breach.kpi_id)
    silenced = silenced_by(directory, silences, breach, now) is not None
    if muted is None and key is not None and not silenced:
        await _join(session, directory, breach, key, now, default_wait_s)
        return None
    planned = plan_opened(directory, breach, silences, now)
    if muted is None:
        return planned
    return [replace(p, suppressed_by=p.suppressed_by or inhibition_id(muted[0])) for p in planned]


async def _join(
    session: AsyncSession,
    directory: Directory,
    breach: Breach,
    key: str,
    now: datetime,
    default_wait_s: float,
) -> None:
    store, tenant = Incidents(session), breach.tenant_id
    await store.lock(tenant, key)
    row = await store.open_for(tenant, key)
    incident = row.incident_id if row is not None else incident_id(tenant, breach.breach_id)
    if row is None:
        await store.create(tenant, incident, key, now)
    await store.join(tenant, incident, breach.breach_id, now)
    if row is not None and row.acked_at is not None:
        await Repository(session).update_breach(
            tenant, breach.breach_id, acked_at=row.acked_at, acked_by=row.acked_by
        )
    due = now + timedelta(seconds=group_wait_s(directory, breach, default_wait_s))
    told = await store.recipients(tenant, incident)
    for recipient in dict.fromkeys([*told, *route_recipients(directory, breach)]):
        await _notify(store, incident, breach, recipient, now, due)


async def _notify(
    store: Incidents,
    incident: str,
    breach: Breach,
    recipient: Recipient,
    now: datetime,
    due: datetime,
) -> None:
    """Add the breach to the recipient's waiting notification of the incident, or plan a
    new one: the first (`incident`) or a later one in its thread (`incident_update`)."""
    tenant = breach.tenant_id
    if await store.gather(tenant, incident, recipient, breach.breach_id):
        return
    kind: Kind = (
        "incident_update" if await store.notified(tenant, incident, recipient) else "incident"
    )
    planned = Planned(
        dedup_key=dedup_key(incident, breach.breach_id, recipient),
        kind=kind,
        recipient=recipient,
        context={"kind": kind, "incident_id": incident, "breaches": [breach.breach_id]},
        breach_id=breach.breach_id,
    )
    await Deliveries(store.session).add(tenant, [planned], now, due)
    metrics.PLANNED.labels(kind, "pending").inc()


async def resolved(session: AsyncSession, breach: Breach, now: datetime) -> list[Planned] | None:
    """For a breach of an incident (None: not one): nothing until its last breach
    resolved, then the incident closes and everyone it told hears so once."""
    store, tenant = Incidents(session), breach.tenant_id
    row = await store.incident_of(tenant, breach.breach_id)
    if row is None:
        return None
    members = await store.members(tenant, row.incident_id)
    if row.resolved_at is not None or any(m.resolved_at is None for m in members):
        return []
    await store.resolve(tenant, row.incident_id, now)
    context = {"kind": "incident_closed", "incident_id": row.incident_id, "breaches": []}
    return [
        Planned(
            dedup_key=dedup_key(row.incident_id, "closed", r),
            kind="incident_closed",
            recipient=r,
            context=context,
            breach_id=breach.breach_id,
        )
        for r in await store.recipients(tenant, row.incident_id)
    ]


async def scoped(
    session: AsyncSession, breach: Breach, event: str, planned: Sequence[Planned]
) -> list[Planned]:
    """A reminder or escalation of an incident's breach is the incident's: keyed by the
    incident, so its breaches with the same recipient give one, not one each."""
    row = await Incidents(session).incident_of(breach.tenant_id, breach.breach_id)
    if row is None:
        return list(planned)
    return [
        replace(
            p,
            dedup_key=dedup_key(row.incident_id, event, p.recipient),
            context={**p.context, "incident_id": row.incident_id},
        )
        for p in planned
    ]


async def message_context(
    session: AsyncSession, directory: Directory, tenant_id: str, context: dict[str, Any]
) -> dict[str, Any]:
    """An incident notification's context at send time: the incident as it stands now
    (causes with their shares, parents, the so-that chain), and which breaches are new."""
    store, incident = Incidents(session), str(context["incident_id"])
    members = await store.members(tenant_id, incident)
    row = await store.get(tenant_id, incident)
    new = set(context.get("breaches") or [])
    about = summary(directory, members)
    top = directory.kpis.get(row.group_key) if row is not None else None
    return {
        **context,
        **about,
        "new": [i for i in about["causes"] + about["parents"] if i["breach_id"] in new],
        "title": top.title if top is not None else (row.group_key if row else incident),
        "acked": row is not None and row.acked_at is not None,
    }
