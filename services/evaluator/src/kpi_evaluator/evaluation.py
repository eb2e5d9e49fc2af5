"""Re-evaluate KPI periods inside the caller's transaction: read the bucket states, judge
each period, keep the breach state, and queue `kpi.status` / `kpi.breaches` events in the
outbox. Used by the metrics consumer (for the periods a batch touched) and by the tick.

A closed period whose actual changes keeps a revision, and a breach transition of a period
older than the paging horizon is published as a restatement (kpi_evaluator.restatements)."""

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from operator import attrgetter

from kpi_common.calendar import Bucket
from kpi_common.events import Envelope
from kpi_common.outbox import add_to_outbox
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncSession

from kpi_evaluator import buckets_repo, status_repo
from kpi_evaluator.actuals import actual, dependents, needed, recent, recent_days, window
from kpi_evaluator.aggregation import AggState
from kpi_evaluator.breaches import BreachPolicy, BreachState, step
from kpi_evaluator.burn_alerts import alerts, days_needed
from kpi_evaluator.burn_events import Period
from kpi_evaluator.burn_rates import BurnState
from kpi_evaluator.definitions import KpiDef, Strategy
from kpi_evaluator.folding import BucketKey
from kpi_evaluator.outgoing import breach_event, status_event
from kpi_evaluator.restatements import Cause, Revision, cause, pages, restated
from kpi_evaluator.status import Evaluation, Judged, evaluate
from kpi_evaluator.status_repo import StatusRow
from kpi_evaluator.targets import target_for

Ref = tuple[KpiDef, Bucket]
Job = tuple[Strategy, Iterable[Ref]]  # one tenant's periods to evaluate
# One evaluation of a tenant at a time (consumer batches, ticks, replicas): status rows and
# breach state are read and written under this transaction-scoped lock. A transaction that
# evaluates several tenants takes their locks in one statement, in ascending key order, so
# two of them can never wait for each other.
_LOCKS = text(
    "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest(CAST(:k AS bigint[])) AS k ORDER BY 1) s"
)


def lock_key(tenant_id: str) -> int:
    return zlib.crc32(f"evaluator:{tenant_id}".encode())


async def lock_tenant(session: AsyncSession, tenant_id: str) -> None:
    await lock_tenants(session, [tenant_id])


async def lock_tenants(session: AsyncSession, tenant_ids: Iterable[str]) -> None:
    """Take the tenants' evaluation locks in one statement, in ascending key order (held
    until the transaction ends; taking one again is free). A transaction that changes
    status rows before it evaluates (a tick's or a recompute's cleanup) takes them first: a
    row it deleted while another transaction held the lock and wrote that row made each
    wait for the other (a deadlock, seen with two evaluator replicas in `make
    chaos-cluster`)."""
    await session.execute(_LOCKS, {"k": sorted({lock_key(t) for t in tenant_ids})})


@dataclass(frozen=True)
class EvaluationConfig:
    status_topic: str
    breaches_topic: str
    stale_after: timedelta
    policy: BreachPolicy
    horizon_periods: int = 1


def judged(kpi: KpiDef) -> Judged:
    return Judged(kpi.direction, kpi.pace, kpi.at_risk_below)


def with_dependents(strategy: Strategy, refs: Iterable[Ref]) -> list[Ref]:
    """The periods asked for, plus those of formula KPIs that use them."""
    out = {(k.id, b.key): (k, b) for k, b in refs}
    for formula in dependents(strategy, {k.id for k, _ in out.values()}):
        for _, bucket in list(out.values()):
            fb = strategy.calendar.bucket(formula.period_kind, bucket.start)
            out.setdefault((formula.id, fb.key), (formula, fb))
    return list(out.values())


@dataclass(frozen=True)
class _Inputs:
    """What one evaluation reads (of every tenant it covers), loaded in three queries."""

    states: Mapping[BucketKey, AggState]
    last_seen: Mapping[tuple[str, str], datetime]
    stored: Mapping[tuple[str, str, str], StatusRow]


Outgoing = tuple[str, str, Envelope]


@dataclass(frozen=True)
class _Outcome:
    row: StatusRow
    events: list[Outgoing]
    revision: Revision | None
    changed: bool  # whether the stored row differs in more than `evaluated_at`


class Evaluator:
    def __init__(self, config: EvaluationConfig, outbox: Table) -> None:
        self._config = config
        self._outbox = outbox

    async def run(
        self,
        session: AsyncSession,
        strategy: Strategy,
        refs: Iterable[Ref],
        now: datetime,
        *,
        reason: str = "late_events",
        restatement_id: str | None = None,
    ) -> list[StatusRow]:
        """Evaluate those periods (and dependent formulas); returns the rows written.

        `reason` (`late_events`, `definition_change`, `recompute`) is recorded with each
        revision of a closed period; `restatement_id` names the run (one per recompute: pass
        the same id to every call of one recompute); without it, one per call."""
        return await self.run_many(
            session, [(strategy, refs)], now, reason=reason, restatement_id=restatement_id
        )

    async def run_many(
        self,
        session: AsyncSession,
        jobs: Iterable[Job],
        now: datetime,
        *,
        reason: str = "late_events",
        restatement_id: str | None = None,
    ) -> list[StatusRow]:
        """`run` for several tenants in one transaction: their locks, reads and writes in one
        statement each, whatever the number of tenants (a tick, a batch of many tenants)."""
        todo = [(s, refs) for s, r in jobs if (refs := with_dependents(s, r))]
        if not todo:
            return []
        await lock_tenants(session, [s.tenant_id for s, _ in todo])
        days = {s.tenant_id: _RecentDays(s, now) for s, _ in todo}
        inputs = await _load(session, todo, days, now)
        outcomes = []
        for strategy, refs in todo:
            why = cause(strategy.tenant_id, reason, now, restatement_id)
            recent_of = days[strategy.tenant_id]
            outcomes += [
                self._evaluate_one(strategy, k, b, inputs, now, why, recent_of(k, b))
                for k, b in refs
            ]
        rows = [o.row for o in outcomes]
        await status_repo.save(session, [o.row for o in outcomes if o.changed])
        await status_repo.add_revisions(session, [o.revision for o in outcomes if o.revision])
        await add_to_outbox(session, self._outbox, [e for o in outcomes for e in o.events])
        return rows

    def _evaluate_one(
        self,
        strategy: Strategy,
        kpi: KpiDef,
        bucket: Bucket,
        inputs: _Inputs,
        now: datetime,
        why: Cause,
        days: list[Bucket],
    ) -> _Outcome:
        tenant = strategy.tenant_id
        span = window(strategy, kpi, bucket)
        ev = evaluate(
            judged(kpi),
            target_for(kpi, bucket.key),
            actual(strategy, kpi, bucket, inputs.states),
            span,
            now,
            last_seen=inputs.last_seen.get((tenant, kpi.id)),
            stale_after=self._config.stale_after,
            recent=recent(strategy, kpi, days, now, inputs.states),
        )
        previous = inputs.stored.get((tenant, kpi.id, bucket.key))
        old = previous.breach if previous else BreachState()
        ref = (strategy.tenant_id, kpi.id, span.key)
        breach, change = step(old, ev, now, self._config.policy, ref)
        burns, burn_events = alerts(
            strategy, Period(kpi, span, ev), previous.burn if previous else {}, inputs.states, now
        )
        row = _row(strategy.tenant_id, kpi.id, span, ev, now, breach, burns)
        changed = previous is None or previous.status != ev.status
        restatement = None if change is None or self._pages(strategy, kpi, span, now) else why
        events = self._events(strategy, kpi, row, changed, change, old, restatement)
        key = f"{strategy.tenant_id}:{kpi.id}"
        events += [(self._config.breaches_topic, key, e) for e in burn_events]
        return _Outcome(row, events, _revision(previous, row, why), _changed(previous, row))

    def _pages(self, strategy: Strategy, kpi: KpiDef, span: Bucket, now: datetime) -> bool:
        horizon = self._config.horizon_periods
        return pages(strategy.calendar, kpi.period_kind, span, now, horizon)

    def _events(
        self,
        strategy: Strategy,
        kpi: KpiDef,
        row: StatusRow,
        status_changed: bool,
        change: str | None,
        old: BreachState,
        restatement: Cause | None,
    ) -> list[Outgoing]:
        key = f"{strategy.tenant_id}:{kpi.id}"
        now = row.evaluated_at
        out: list[Outgoing] = []
        if status_changed:
            out.append((self._config.status_topic, key, status_event(row)))
        if change == "opened":
            event = breach_event(strategy, kpi, row, row.breach, now, None, restatement)
            out.append((self._config.breaches_topic, key, event))
        elif change == "resolved":
            event = breach_event(strategy, kpi, row, old, now, now, restatement)
            out.append((self._config.breaches_topic, key, event))
        return out


class _RecentDays:
    """`recent_days` of one tenant at one `now`, computed once per period (a tick asks it of
    every KPI twice, and most KPIs share their period)."""

    def __init__(self, strategy: Strategy, now: datetime) -> None:
        self._strategy = strategy
        self._now = now
        self._known: dict[tuple[str, bool, str], list[Bucket]] = {}

    def __call__(self, kpi: KpiDef, bucket: Bucket) -> list[Bucket]:
        key = (kpi.period_kind, kpi.cumulative, bucket.key)
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = recent_days(self._strategy, kpi, bucket, self._now)
        return found


async def _load(
    session: AsyncSession,
    todo: list[tuple[Strategy, list[Ref]]],
    days: dict[str, _RecentDays],
    now: datetime,
) -> _Inputs:
    tenants: set[str] = set()
    kpis: set[str] = set()
    keys: set[str] = set()
    for strategy, refs in todo:
        tenants.add(strategy.tenant_id)
        recent_of = days[strategy.tenant_id]
        for kpi, bucket in refs:
            for kpi_id, key in needed(strategy, kpi, bucket):
                kpis.add(kpi_id)
                keys.add(key)
            if trend := recent_of(kpi, bucket):
                kpis.add(kpi.id)
                keys.update(d.key for d in trend)
            if burn_days := days_needed(strategy, kpi, bucket, now):
                kpis.add(kpi.id)
                keys.update(d.key for d in burn_days)
    states = await buckets_repo.load_states_many(session, tenants, kpis, keys)
    seen = await buckets_repo.last_seen_many(session, tenants)
    ids = {k.id for _, r in todo for k, _ in r}
    periods = {b.key for _, r in todo for _, b in r}
    stored = await status_repo.load_many(session, tenants, ids, periods)
    return _Inputs(states, seen, stored)


# Every field of a status row but `evaluated_at`, as one tuple (`dataclasses.replace` to
# compare them cost a sixth of a settled tick's CPU).
_EVALUATION = attrgetter(*(f.name for f in fields(StatusRow) if f.name != "evaluated_at"))


def _changed(previous: StatusRow | None, row: StatusRow) -> bool:
    """Whether the row must be written: its evaluation changed, or it is the first evaluation
    of the period since it closed (which `status_repo.settled` then knows by its time)."""
    if previous is None or _EVALUATION(previous) != _EVALUATION(row):
        return True
    return previous.evaluated_at < row.period_end <= row.evaluated_at


def _revision(previous: StatusRow | None, row: StatusRow, why: Cause) -> Revision | None:
    """A closed period that had a stated row and whose actual changed keeps a revision."""
    if previous is None or not restated(
        previous.actual, row.actual, row.period_end, row.evaluated_at
    ):
        return None
    return Revision(
        row.tenant_id,
        row.kpi_id,
        row.period_key,
        previous.actual,
        row.actual,
        row.evaluated_at,
        why.reason,
        why.restatement_id,
    )


def _row(
    tenant: str,
    kpi_id: str,
    span: Bucket,
    ev: Evaluation,
    now: datetime,
    breach: BreachState,
    burns: Mapping[str, BurnState],
) -> StatusRow:
    return StatusRow(
        tenant,
        kpi_id,
        span.key,
        span.start,
        span.end,
        ev.actual,
        ev.target,
        ev.expected,
        ev.forecast,
        ev.status,
        ev.score,
        now,
        breach,
        burns,
    )
