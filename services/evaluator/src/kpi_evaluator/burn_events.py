"""The `kpi.burn_rate.fired` / `kpi.burn_rate.resolved` events (docs/events.md), with ids
stable across replays: `burn:<alert id>:fired|resolved`."""

from dataclasses import dataclass
from datetime import datetime

from kpi_common.calendar import Bucket
from kpi_common.events import (
    ChainLink,
    Envelope,
    KpiBurnRateFired,
    KpiBurnRateResolved,
    make_envelope,
)

from kpi_evaluator.burn_rates import BurnState, Reading, Rule
from kpi_evaluator.chain import so_that_chain
from kpi_evaluator.config import SERVICE
from kpi_evaluator.definitions import KpiDef, Strategy
from kpi_evaluator.status import Evaluation


@dataclass(frozen=True)
class Period:
    """The KPI period being judged: its bucket and evaluation."""

    kpi: KpiDef
    span: Bucket
    ev: Evaluation


def _rates(reading: Reading | None, target: float) -> dict[str, float | None]:
    if reading is None:
        return dict.fromkeys(
            (
                "long_burn_rate",
                "short_burn_rate",
                "projected_shortfall",
                "projected_shortfall_share",
            )
        )
    return {
        "long_burn_rate": reading.long,
        "short_burn_rate": reading.short,
        "projected_shortfall": reading.projected_share * target,
        "projected_shortfall_share": reading.projected_share,
    }


def _fields(
    strategy: Strategy, period: Period, rule: Rule, reading: Reading | None
) -> dict[str, object]:
    kpi, ev, spec = period.kpi, period.ev, rule.spec
    target = ev.target or 0.0
    budget = spec.budget if spec.budget is not None else 1 - kpi.at_risk_below
    chain = [
        ChainLink(node_type=t, node_id=i, title=title)
        for t, i, title in so_that_chain(strategy, kpi.id)
    ]
    return {
        "kpi_id": kpi.id,
        "kpi_title": kpi.title,
        "unit_id": kpi.unit or "",
        "owner": kpi.owner,
        "perspective": kpi.perspective,
        "period": period.span.key,
        "period_start": period.span.start,
        "period_end": period.span.end,
        "rule": spec.key,
        "route_id": rule.route_id,
        "severity": spec.severity.value,
        "mode": spec.mode,
        "direction": kpi.direction.value,
        "factor": spec.factor,
        "long_window_days": spec.long_days,
        "short_window_days": spec.short_days,
        "budget_share": budget,
        "status": ev.status,
        "actual": ev.actual,
        "target": target,
        "expected": ev.expected,
        "unit_of_measure": kpi.unit_of_measure,
        "so_that_chain": chain,
        **_rates(reading, target),
    }


def burn_event(
    strategy: Strategy,
    period: Period,
    rule: Rule,
    reading: Reading | None,
    state: BurnState,
    now: datetime,
    change: str,
    reason: str,
) -> Envelope:
    """`change` "fired" or "resolved"; `state` carries the alert id and when it fired."""
    fields = {**_fields(strategy, period, rule, reading), "alert_id": state.alert_id}
    fired_at = state.fired_at or now
    if change == "fired":
        data: KpiBurnRateFired | KpiBurnRateResolved = KpiBurnRateFired(**fields, fired_at=fired_at)
    else:
        data = KpiBurnRateResolved(**fields, fired_at=fired_at, resolved_at=now, reason=reason)
    return make_envelope(
        id=f"burn:{state.alert_id}:{change}",
        tenant_id=strategy.tenant_id,
        producer=SERVICE,
        time=now,
        data=data,
    )
