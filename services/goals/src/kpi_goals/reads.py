"""Read use cases: single nodes, pages of them, a KPI's history and its targets as of a date."""

from datetime import UTC, date, datetime, time
from typing import Any

from kpi_common.calendar import calendar_of
from kpi_common.db import unit_of_work
from kpi_common.definitions import KpiDef, OrganizationDef
from kpi_common.errors import NotFound

from kpi_goals import alignment as rules
from kpi_goals.access import Principal, require_read
from kpi_goals.cascade import build, chains, chains_in, tree
from kpi_goals.contract import normalise
from kpi_goals.handlers import Deps
from kpi_goals.nodes import Node, field_changes
from kpi_goals.repository import HistoryRow, Repository

TARGET_FIELDS = ("baseline", "target", "targets", "period", "direction", "at_risk_below")


async def page(
    deps: Deps, who: Principal, node_type: str, after: str | None, limit: int
) -> dict[str, Any]:
    require_read(who)
    async with unit_of_work(deps.sessions) as session:
        rows = await Repository(session).page(who.tenant_id, node_type, after, limit + 1)
    items = [{"id": i, "revision": r, "definition": d} for i, r, d in rows[:limit]]
    more = len(rows) > limit
    return {"items": items, "next_after": items[-1]["id"] if more else None}


async def one(deps: Deps, who: Principal, node_type: str, node_id: str) -> dict[str, Any]:
    require_read(who)
    async with unit_of_work(deps.sessions) as session:
        found = await Repository(session).get(who.tenant_id, node_type, node_id)
    if found is None:
        raise NotFound(f"{node_type} {node_id}")
    return {"id": node_id, "revision": found[0], "definition": found[1]}


async def all_nodes(deps: Deps, who: Principal) -> list[Node]:
    require_read(who)
    async with unit_of_work(deps.sessions) as session:
        return await Repository(session).live(who.tenant_id)


async def kpi_history(deps: Deps, who: Principal, kpi_id: str) -> dict[str, Any]:
    """Every change of the KPI's definition: who (key id), when, why, and what changed."""
    require_read(who)
    async with unit_of_work(deps.sessions) as session:
        rows = await Repository(session).history(who.tenant_id, "kpi", kpi_id)
    if not rows:
        raise NotFound(f"kpi {kpi_id}")
    return {"kpi_id": kpi_id, "history": [_entry(r) for r in rows]}


async def kpi_histories(deps: Deps, who: Principal, kpi_ids: list[str]) -> dict[str, Any]:
    """`kpi_history` of several KPIs, in the order asked, from one query."""
    require_read(who)
    asked = list(dict.fromkeys(kpi_ids))
    async with unit_of_work(deps.sessions) as session:
        found = await Repository(session).histories(who.tenant_id, "kpi", asked)
    missing = [k for k in asked if k not in found]
    if missing:
        raise NotFound(f"kpi {missing[0]}")
    return {"kpis": [{"kpi_id": k, "history": [_entry(r) for r in found[k]]} for k in asked]}


def _entry(row: HistoryRow) -> dict[str, Any]:
    changed = field_changes(row.before, row.definition)
    return {
        "revision": row.revision,
        "action": row.action,
        "changed_at": row.changed_at.isoformat(),
        "key_id": row.key_id,
        "reason": row.reason,
        "target_changed": any(f in changed for f in TARGET_FIELDS),
        "fields": changed,
        "definition": row.definition,
    }


async def targets_as_of(
    deps: Deps, who: Principal, kpi_id: str, as_of: date | None, at: datetime | None
) -> dict[str, Any]:
    """The KPI's target fields as they stood at the end of `as_of` (UTC; default: now), as
    written and `resolved` (the published contract); with `at`, also the period that
    contains that instant on the tenant's fiscal calendar and its target."""
    require_read(who)
    day = as_of or deps.clock().date()
    until = datetime.combine(day, time.max, tzinfo=UTC)
    async with unit_of_work(deps.sessions) as session:
        repo = Repository(session)
        rows = await repo.history(who.tenant_id, "kpi", kpi_id, until)
        org = await repo.get(who.tenant_id, "organization", "organization")
    if not rows or rows[-1].definition is None:
        raise NotFound(f"kpi {kpi_id} on {day.isoformat()}")
    last = rows[-1]
    definition = last.definition or {}
    kpi = normalise("kpi", kpi_id, definition)
    assert isinstance(kpi, KpiDef)
    return {
        "kpi_id": kpi_id,
        "as_of": day.isoformat(),
        "revision": last.revision,
        "changed_at": last.changed_at.isoformat(),
        **{f: definition.get(f) for f in TARGET_FIELDS},
        "resolved": kpi.targets.model_dump(mode="json"),
        "period_kind": kpi.period.value,
        "at": None if at is None else period_at(kpi, org[1] if org else {}, at),
    }


def period_at(kpi: KpiDef, org: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The period of `at` on the organisation's calendar (`org` as stored; {} if none yet)."""
    typed = normalise("organization", "organization", org) if org else None
    assert typed is None or isinstance(typed, OrganizationDef)
    calendar = calendar_of(typed)
    bucket = calendar.bucket(kpi.period.value, at)
    band = kpi.targets.band
    return {
        "period": bucket.key,
        "start": bucket.start.isoformat(),
        "end": bucket.end.isoformat(),
        "target": kpi.targets.for_period(bucket.key),
        "band": None if band is None else band.model_dump(),
    }


async def cascade(deps: Deps, who: Principal, kpi_id: str | None) -> dict[str, Any]:
    """The whole tree, or for one KPI every "so that" chain up to the goals."""
    nodes = await all_nodes(deps, who)
    if kpi_id is None:
        return tree(nodes)
    found = chains(nodes, kpi_id)
    if found is None:
        raise NotFound(f"kpi {kpi_id}")
    return {"kpi_id": kpi_id, "chains": found}


async def kpi_chains(deps: Deps, who: Principal, kpi_ids: list[str]) -> dict[str, Any]:
    """Each asked KPI's "so that" chains, in the order asked, from one read of the cascade."""
    cascade = build(await all_nodes(deps, who))
    out = []
    for kpi_id in dict.fromkeys(kpi_ids):
        found = chains_in(cascade, kpi_id)
        if found is None:
            raise NotFound(f"kpi {kpi_id}")
        out.append({"kpi_id": kpi_id, "chains": found})
    return {"kpis": out}


async def alignment(deps: Deps, who: Principal, rule: str | None) -> dict[str, Any]:
    nodes = await all_nodes(deps, who)
    limit = deps.settings.max_kpis_per_objective
    findings = [f.as_dict() for f in rules.check(nodes, limit) if rule is None or f.rule == rule]
    counts = {s: sum(f["severity"] == s for f in findings) for s in ("error", "warning", "info")}
    catalogue = [
        {"id": r.id, "severity": r.severity, "description": r.description} for r in rules.RULES
    ]
    return {"findings": findings, "counts": counts, "rules": catalogue}
