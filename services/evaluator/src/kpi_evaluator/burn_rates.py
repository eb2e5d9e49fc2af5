"""Burn-rate alerts on business targets (pure): the multiwindow, multi-burn-rate pattern of
SRE error budgets (Google SRE workbook, "Alerting on SLOs") on a KPI's period.

Rules (docs/evaluator.md, "Burn-rate alerts"), for a KPI that accrues (sum or count) over a
period of length P with target T:
- The budget is the shortfall the period may end with before the KPI is off track: a share
  b of T, the rule's `budget` or else 1 - `at_risk_below` (0.9 -> 10%).
- A window of w days is the last w days up to now, cut at the period start. What the KPI
  accrued in it is the sum of its local day totals, the window's first day pro rata.
  Expected in the window: T × w / P. Shortfall: expected - accrued (`increase`), accrued -
  expected (`decrease`: spending over a cap).
- Burn rate = shortfall / (b × expected): 1 spends the budget exactly by period end; a
  rate r, kept for the whole period, ends it r × b short (the projected shortfall).
  Below 0: ahead of pace.
- An alert fires when both the long and the short window burn faster than `factor`, and
  resolves when the short one drops below it, or when the period ends. Alert ids are
  stable: tenant, KPI, period, rule and the alert's sequence number in the period.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from kpi_common.calendar import Bucket, FiscalCalendar
from kpi_common.definitions import BurnRateDef, Direction

_NAMESPACE = uuid.UUID("1d0c4f2e-3b8a-4e55-9a61-0b7c2e9d4f10")
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Rule:
    """A declared rule and where: on the KPI (`route_id` None) or on an alert route."""

    spec: BurnRateDef
    route_id: str | None = None

    @property
    def key(self) -> str:
        return self.spec.key if self.route_id is None else f"route{self.route_id}:{self.spec.key}"


@dataclass(frozen=True)
class Reading:
    long: float
    short: float
    budget: float  # share of the target

    @property
    def projected_share(self) -> float:
        """The share of the target the period ends short at the long window's pace."""
        return self.long * self.budget


@dataclass(frozen=True)
class BurnState:
    """One rule's alert in one period; an open alert keeps its rule, so that it can still
    be resolved once the rule is gone."""

    alert_id: str | None = None
    fired_at: datetime | None = None
    seq: int = 0
    rule: Rule | None = None


def accrued(
    totals: Mapping[str, float], calendar: FiscalCalendar, since: datetime, now: datetime
) -> float:
    """What the KPI added from `since` to `now`: its day totals, the first day pro rata."""
    total = 0.0
    day = calendar.bucket("day", now)
    while day.end > since:
        inside = min(1.0, (day.end - since) / (day.end - day.start))
        total += totals.get(day.key, 0.0) * inside
        day = calendar.previous("day", day)
    return total


def burn_rate(direction: Direction, expected: float, accrued: float, budget: float) -> float:
    shortfall = expected - accrued if direction == Direction.INCREASE else accrued - expected
    return shortfall / (budget * expected)


def window_start(period: Bucket, now: datetime, days: int) -> datetime:
    return max(period.start, now - days * DAY)


@dataclass(frozen=True)
class Judging:
    """What a reading needs of the KPI and its period."""

    direction: Direction
    target: float
    at_risk_below: float


def read(
    rule: BurnRateDef,
    kpi: Judging,
    totals: Mapping[str, float],
    calendar: FiscalCalendar,
    period: Bucket,
    now: datetime,
) -> Reading | None:
    """Both windows' burn rates, or None when there is nothing to judge (the period is not
    open, no target above 0, no budget)."""
    budget = rule.budget if rule.budget is not None else 1 - kpi.at_risk_below
    if not period.start < now < period.end or kpi.target <= 0 or budget <= 0:
        return None
    length = period.end - period.start
    rates = []
    for days in (rule.long_days, rule.short_days):
        since = window_start(period, now, days)
        expected = kpi.target * ((now - since) / length)
        rates.append(
            burn_rate(kpi.direction, expected, accrued(totals, calendar, since, now), budget)
        )
    return Reading(rates[0], rates[1], budget)


def alert_id(tenant_id: str, kpi_id: str, period: str, rule: str, seq: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{tenant_id}:{kpi_id}:{period}:{rule}:{seq}"))


def step(
    state: BurnState,
    reading: Reading | None,
    factor: float,
    now: datetime,
    ref: tuple[str, str, str, str],
) -> tuple[BurnState, str | None]:
    """The new state and its transition, "fired", "resolved" or None. `ref`: tenant, KPI,
    period, rule key. No reading (the period ended, the target went) resolves."""
    if state.alert_id is None:
        if reading is None or not (reading.long > factor and reading.short > factor):
            return state, None
        seq = state.seq + 1
        return BurnState(alert_id(*ref, seq), now, seq), "fired"
    if reading is not None and reading.short >= factor:
        return state, None
    return BurnState(seq=state.seq), "resolved"
