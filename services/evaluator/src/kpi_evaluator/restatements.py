"""Restated periods (pure; docs/evaluator.md, "Restatements").

- A closed period (now >= its end) whose stored actual changes keeps a revision: old and
  new value, when, and why (`late_events`, `definition_change`, `recompute`). An open period
  changes with every event and keeps none.
- Paging horizon: only a KPI's current period and the `horizon` periods before it may page.
  A breach transition of an older period is a restatement: recorded and published with
  urgency `restatement` and the id of the run that caused it (one batch of late events, or
  one recompute), so the notifier sends one low-urgency notice per route for the whole run.
"""

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast, get_args

from kpi_common.calendar import Bucket, FiscalCalendar

Reason = Literal["late_events", "definition_change", "recompute"]
REASONS: tuple[str, ...] = get_args(Reason)
_NAMESPACE = uuid.UUID("0b6c3f5e-2d4a-4e59-9a8e-1f7c2b9d4e60")


@dataclass(frozen=True)
class Cause:
    """Why an evaluation runs, and the id naming that run's restatements."""

    reason: Reason
    restatement_id: str


def cause(tenant_id: str, reason: str, now: datetime, restatement_id: str | None) -> Cause:
    """The run's cause; without an id given, one derived from tenant, reason and time (a
    consumer batch or a tick evaluates once at one `now`)."""
    if reason not in REASONS:
        raise ValueError(f"reason: {reason!r} is not one of {', '.join(REASONS)}")
    given = restatement_id or str(uuid.uuid5(_NAMESPACE, f"{tenant_id}:{reason}:{now}"))
    return Cause(cast(Reason, reason), given)


@dataclass(frozen=True)
class Revision:
    tenant_id: str
    kpi_id: str
    period_key: str
    old_actual: float | None
    new_actual: float | None
    revised_at: datetime
    reason: Reason
    restatement_id: str


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def restated(old: float | None, new: float | None, period_end: datetime, now: datetime) -> bool:
    """True when a closed period's stated actual changed (sums folded in another order may
    differ in the last bits: that is not a restatement)."""
    return now >= period_end and not _same(old, new)


def pages(calendar: FiscalCalendar, kind: str, period: Bucket, now: datetime, horizon: int) -> bool:
    """True when a breach transition of `period` may page: it ends after the start of the
    period `horizon` steps before the current one (future periods page too)."""
    oldest = calendar.bucket(kind, now)
    for _ in range(horizon):  # walks back no further than `period` itself
        if period.end > oldest.start:
            return True
        oldest = calendar.previous(kind, oldest)
    return period.end > oldest.start
