"""Breach transitions: `for` duration, hysteresis, the at_risk option and stable ids."""

from datetime import UTC, datetime, timedelta

from kpi_evaluator.breaches import BreachPolicy, BreachState, breach_id, step
from kpi_evaluator.status import Evaluation

T0 = datetime(2026, 2, 1, tzinfo=UTC)
REF = ("tenant", "new-clients", "2026-Q1")


def ev(status: str, p: float | None = None) -> Evaluation:
    return Evaluation(1.0, 2.0, 2.0, 2.0, status, p, p)


def test_opens_at_once_by_default_and_resolves_on_recovery() -> None:
    policy = BreachPolicy()
    state, change = step(BreachState(), ev("off_track", 0.5), T0, policy, REF)
    assert change == "opened"
    assert state.breach_id == breach_id(*REF, 1)
    assert state.opened_at == T0
    # at_risk is the dead band between off_track and recovery: nothing happens
    state, change = step(state, ev("at_risk", 0.95), T0, policy, REF)
    assert change is None
    # on_track but within the 2% hysteresis: still open
    state, change = step(state, ev("on_track", 1.01), T0, policy, REF)
    assert change is None
    closed, change = step(state, ev("on_track", 1.05), T0, policy, REF)
    assert change == "resolved"
    assert (closed.breach_id, closed.seq) == (None, 1)
    reopened, change = step(closed, ev("off_track", 0.5), T0, policy, REF)
    assert change == "opened"
    assert reopened.breach_id == breach_id(*REF, 2) != state.breach_id


def test_for_duration_stops_flapping() -> None:
    policy = BreachPolicy(for_duration=timedelta(hours=1))
    state, change = step(BreachState(), ev("off_track", 0.5), T0, policy, REF)
    assert (change, state.pending_since) == (None, T0)
    # a recovery in between resets the pending time
    state, _ = step(state, ev("on_track", 1.0), T0 + timedelta(minutes=30), policy, REF)
    state, change = step(state, ev("off_track", 0.5), T0 + timedelta(minutes=40), policy, REF)
    assert change is None
    state, change = step(state, ev("off_track", 0.5), T0 + timedelta(minutes=99), policy, REF)
    assert change is None
    state, change = step(state, ev("off_track", 0.5), T0 + timedelta(minutes=100), policy, REF)
    assert change == "opened"
    # no_data and stale change nothing
    same, change = step(state, ev("stale"), T0 + timedelta(hours=9), policy, REF)
    assert (same, change) == (state, None)


def test_at_risk_opens_breaches_when_configured() -> None:
    _, change = step(BreachState(), ev("at_risk", 0.95), T0, BreachPolicy(), REF)
    assert change is None
    _, change = step(BreachState(), ev("at_risk", 0.95), T0, BreachPolicy("at_risk"), REF)
    assert change == "opened"
