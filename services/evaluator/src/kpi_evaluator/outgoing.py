"""The events the evaluator publishes (through its outbox): `kpi.status.changed` and
`kpi.breach.opened` / `kpi.breach.resolved`, with ids stable across replays."""

from datetime import datetime

from kpi_common.events import (
    ChainLink,
    Envelope,
    KpiBreachOpened,
    KpiBreachResolved,
    KpiStatusChanged,
    make_envelope,
)

from kpi_evaluator.breaches import BreachState
from kpi_evaluator.chain import so_that_chain
from kpi_evaluator.config import SERVICE
from kpi_evaluator.definitions import KpiDef, Strategy
from kpi_evaluator.restatements import Cause
from kpi_evaluator.status_repo import StatusRow


def status_event(row: StatusRow) -> Envelope:
    data = KpiStatusChanged(
        kpi_id=row.kpi_id,
        period=row.period_key,
        period_start=row.period_start,
        period_end=row.period_end,
        actual=row.actual,
        target=row.target,
        expected=row.expected,
        forecast=row.forecast,
        status=row.status,
        score=row.score,
        evaluated_at=row.evaluated_at,
    )
    stamp = row.evaluated_at.isoformat()
    return make_envelope(
        id=f"status:{row.kpi_id}:{row.period_key}:{row.status}:{stamp}",
        tenant_id=row.tenant_id,
        producer=SERVICE,
        time=row.evaluated_at,
        data=data,
    )


def _urgency(restatement: Cause | None) -> dict[str, object]:
    """A page, or a restatement with the run that caused it (docs/evaluator.md)."""
    if restatement is None:
        return {"urgency": "page"}
    return {
        "urgency": "restatement",
        "restatement_id": restatement.restatement_id,
        "restatement_reason": restatement.reason,
    }


def _fields(
    strategy: Strategy, kpi: KpiDef, row: StatusRow, breach: BreachState
) -> dict[str, object]:
    chain = [
        ChainLink(node_type=t, node_id=i, title=title)
        for t, i, title in so_that_chain(strategy, kpi.id)
    ]
    return {
        "breach_id": breach.breach_id,
        "kpi_id": kpi.id,
        "kpi_title": kpi.title,
        "unit_id": kpi.text("unit") or "",
        "owner": kpi.text("owner"),
        "perspective": kpi.text("perspective"),
        "period": row.period_key,
        "status": row.status,
        "severity": "critical" if row.status == "off_track" else "warning",
        "actual": row.actual,
        "target": row.target,
        "expected": row.expected,
        "forecast": row.forecast,
        "unit_of_measure": kpi.text("unit_of_measure"),
        "so_that_chain": chain,
    }


def breach_event(
    strategy: Strategy,
    kpi: KpiDef,
    row: StatusRow,
    breach: BreachState,
    now: datetime,
    resolved_at: datetime | None,
    restatement: Cause | None = None,
) -> Envelope:
    """Opened when `resolved_at` is None, else resolved; `breach` carries id and opened_at;
    `restatement` (a period past the paging horizon) makes it a restatement, not a page."""
    fields = {**_fields(strategy, kpi, row, breach), **_urgency(restatement)}
    opened_at = breach.opened_at or now
    if resolved_at is None:
        data: KpiBreachOpened | KpiBreachResolved = KpiBreachOpened(**fields, opened_at=opened_at)
        kind = "opened"
    else:
        data = KpiBreachResolved(**fields, opened_at=opened_at, resolved_at=resolved_at)
        kind = "resolved"
    return make_envelope(
        id=f"breach:{breach.breach_id}:{kind}",
        tenant_id=strategy.tenant_id,
        producer=SERVICE,
        time=now,
        data=data,
    )
