"""Breach transitions of one KPI in one period (pure).

- A breach opens when the status has been at a breach level (off_track; at_risk too when
  configured) for at least the `for` duration; pending time is reset by any other status.
- An open breach resolves when the KPI has recovered (on_track or achieved, and, unless
  achieved, a performance at least `1 + hysteresis`) for the same `for` duration. With
  breaches on off_track only, at_risk is a dead band: it neither opens nor resolves.
- no_data and stale neither open nor resolve (the state is unknown).
- The breach id is stable: derived from tenant, KPI, period and the breach's sequence number
  in that period, so a replay or a restart produces the same id.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from kpi_evaluator.status import Evaluation

_NAMESPACE = uuid.UUID("6f1f8c1e-7a55-4c0e-9f58-5c3f9a0b2d11")
UNKNOWN = frozenset({"no_data", "stale"})


@dataclass(frozen=True)
class BreachPolicy:
    breach_on: str = "off_track"
    for_duration: timedelta = timedelta(0)
    hysteresis: float = 0.02

    @property
    def levels(self) -> frozenset[str]:
        if self.breach_on == "at_risk":
            return frozenset({"off_track", "at_risk"})
        return frozenset({"off_track"})


@dataclass(frozen=True)
class BreachState:
    pending_since: datetime | None = None
    recover_since: datetime | None = None
    breach_id: str | None = None
    opened_at: datetime | None = None
    seq: int = 0


def breach_id(tenant_id: str, kpi_id: str, period: str, seq: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{tenant_id}:{kpi_id}:{period}:{seq}"))


def _recovered(ev: Evaluation, policy: BreachPolicy) -> bool:
    if ev.status == "achieved":
        return True
    return ev.status == "on_track" and (ev.performance or 0) >= 1 + policy.hysteresis


def step(
    state: BreachState,
    ev: Evaluation,
    now: datetime,
    policy: BreachPolicy,
    ref: tuple[str, str, str],
) -> tuple[BreachState, str | None]:
    """The new state and the transition it causes: "opened", "resolved" or None."""
    if ev.status in UNKNOWN:
        return state, None
    if state.breach_id is None:
        return _while_closed(state, ev, now, policy, ref)
    return _while_open(state, ev, now, policy)


def _while_closed(
    state: BreachState,
    ev: Evaluation,
    now: datetime,
    policy: BreachPolicy,
    ref: tuple[str, str, str],
) -> tuple[BreachState, str | None]:
    if ev.status not in policy.levels:
        return replace(state, pending_since=None), None
    since = state.pending_since or now
    if now - since < policy.for_duration:
        return replace(state, pending_since=since), None
    seq = state.seq + 1
    opened = BreachState(None, None, breach_id(*ref, seq), now, seq)
    return opened, "opened"


def _while_open(
    state: BreachState, ev: Evaluation, now: datetime, policy: BreachPolicy
) -> tuple[BreachState, str | None]:
    if not _recovered(ev, policy):
        return replace(state, recover_since=None), None
    since = state.recover_since or now
    if now - since < policy.for_duration:
        return replace(state, recover_since=since), None
    return BreachState(seq=state.seq), "resolved"
