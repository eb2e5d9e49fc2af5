"""Re-evaluate KPI periods inside the caller's transaction: read the bucket states, judge
each period, keep the breach state, and queue `kpi.status` / `kpi.breaches` events in the
outbox. Used by the metrics consumer (for the periods a batch touched) and by the tick."""

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from kpi_common.events import Envelope
from kpi_common.outbox import add_to_outbox
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncSession

from kpi_evaluator import buckets_repo, status_repo
from kpi_evaluator.actuals import actual, dependents, needed, window
from kpi_evaluator.aggregation import AggState
from kpi_evaluator.breaches import BreachPolicy, BreachState, step
from kpi_evaluator.calendar import Bucket
from kpi_evaluator.definitions import KpiDef, Strategy
from kpi_evaluator.folding import BucketKey
from kpi_evaluator.outgoing import breach_event, status_event
from kpi_evaluator.status import Evaluation, Judged, evaluate
from kpi_evaluator.status_repo import StatusRow
from kpi_evaluator.targets import target_for

Ref = tuple[KpiDef, Bucket]
# One evaluation of a tenant at a time (consumer batches, ticks, replicas): status rows and
# breach state are read and written under this transaction-scoped lock.
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")


@dataclass(frozen=True)
class EvaluationConfig:
    status_topic: str
    breaches_topic: str
    stale_after: timedelta
    policy: BreachPolicy


def judged(kpi: KpiDef) -> Judged:
    return Judged(kpi.direction, kpi.cumulative, kpi.at_risk_below)


def with_dependents(strategy: Strategy, refs: Iterable[Ref]) -> list[Ref]:
    """The periods asked for, plus those of formula KPIs that use them."""
    out = {(k.id, b.key): (k, b) for k, b in refs}
    for formula in dependents(strategy, {k.id for k, _ in out.values()}):
        for _, bucket in list(out.values()):
            fb = strategy.calendar.bucket(formula.period_kind, bucket.start)
            out.setdefault((formula.id, fb.key), (formula, fb))
    return list(out.values())


class Evaluator:
    def __init__(self, config: EvaluationConfig, outbox: Table) -> None:
        self._config = config
        self._outbox = outbox

    async def run(
        self, session: AsyncSession, strategy: Strategy, refs: Iterable[Ref], now: datetime
    ) -> list[StatusRow]:
        """Evaluate those periods (and dependent formulas); returns the rows written."""
        todo = with_dependents(strategy, refs)
        if not todo:
            return []
        tenant = strategy.tenant_id
        await session.execute(_LOCK, {"k": zlib.crc32(f"evaluator:{tenant}".encode())})
        pairs = set().union(*(needed(strategy, k, b) for k, b in todo))
        states = await buckets_repo.load_states(
            session, tenant, {p[0] for p in pairs}, {p[1] for p in pairs}
        )
        seen = await buckets_repo.last_seen(session, tenant)
        stored = await status_repo.load(
            session, tenant, {k.id for k, _ in todo}, {b.key for _, b in todo}
        )
        rows: list[StatusRow] = []
        events: list[tuple[str, str, Envelope]] = []
        for kpi, bucket in todo:
            ev = self._judge(strategy, kpi, bucket, states, seen.get(kpi.id), now)
            row, out = self._transition(
                strategy,
                kpi,
                window(strategy, kpi, bucket),
                ev,
                stored.get((kpi.id, bucket.key)),
                now,
            )
            rows.append(row)
            events.extend(out)
        await status_repo.save(session, rows)
        await add_to_outbox(session, self._outbox, events)
        return rows

    def _judge(
        self,
        strategy: Strategy,
        kpi: KpiDef,
        bucket: Bucket,
        states: Mapping[BucketKey, AggState],
        last_seen: datetime | None,
        now: datetime,
    ) -> Evaluation:
        value = actual(strategy, kpi, bucket, states)
        target = target_for(kpi.definition, bucket.key)
        span = window(strategy, kpi, bucket)
        return evaluate(
            judged(kpi),
            target,
            value,
            span,
            now,
            last_seen=last_seen,
            stale_after=self._config.stale_after,
        )

    def _transition(
        self,
        strategy: Strategy,
        kpi: KpiDef,
        bucket: Bucket,
        ev: Evaluation,
        previous: StatusRow | None,
        now: datetime,
    ) -> tuple[StatusRow, list[tuple[str, str, Envelope]]]:
        old = previous.breach if previous else BreachState()
        ref = (strategy.tenant_id, kpi.id, bucket.key)
        breach, change = step(old, ev, now, self._config.policy, ref)
        row = StatusRow(
            strategy.tenant_id,
            kpi.id,
            bucket.key,
            bucket.start,
            bucket.end,
            ev.actual,
            ev.target,
            ev.expected,
            ev.forecast,
            ev.status,
            ev.score,
            now,
            breach,
        )
        key = f"{strategy.tenant_id}:{kpi.id}"
        out: list[tuple[str, str, Envelope]] = []
        if previous is None or previous.status != ev.status:
            out.append((self._config.status_topic, key, status_event(row)))
        if change == "opened":
            out.append(
                (
                    self._config.breaches_topic,
                    key,
                    breach_event(strategy, kpi, row, breach, now, None),
                )
            )
        elif change == "resolved":
            out.append(
                (self._config.breaches_topic, key, breach_event(strategy, kpi, row, old, now, now))
            )
        return row, out
