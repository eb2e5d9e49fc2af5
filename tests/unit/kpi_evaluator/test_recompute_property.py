"""Property: whatever the interleaving of strategy versions, event batches, duplicates,
evaluator restarts and operators' recomputes, the buckets the evaluator keeps (live folds of
new events with the strategy of the moment, plus the recomputes `affected` asks for at each
change, folded from the archive) equal a from-scratch fold of every distinct event with the
final strategy, and so does every actual served from them (pure, no database).

A restart is what a SIGKILL leaves: the batch in flight is delivered again (its transaction
was lost, or it committed and Kafka redelivers it: the archive's dedup decides) and the last
recompute is done again from the start (a recompute is a rebuild, in one transaction)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kpi_common.observed import Observed
from kpi_evaluator.actuals import actual
from kpi_evaluator.aggregation import AggState
from kpi_evaluator.definitions import Strategy
from kpi_evaluator.folding import BucketKey, fold
from kpi_evaluator.recompute import ArchiveFolder, affected, restrict

from tests.support.strategy_events import typed

START = datetime(2025, 12, 20, tzinfo=UTC)
Buckets = dict[BucketKey, AggState]


# a small pool, so that successive versions often keep a KPI as it was, or change one thing
def kpi_def(period: Any, metric: str, aggregation: str, **where: Any) -> dict[str, Any]:
    measure: dict[str, Any] = {"metric": metric, "aggregation": aggregation}
    return {"period": period, "measure": {**measure, "where": where} if where else measure}


POOL = [
    kpi_def("month", "deal", "sum"),
    kpi_def("quarter", "deal", "sum"),
    kpi_def("quarter", "deal", "count", new=True),
    kpi_def("year", "deal", "last", region="emea"),
    kpi_def("day", "visit", "max"),
    kpi_def({"rolling_days": 3}, "visit", "sum"),
    kpi_def("month", "visit", "sum", region="x"),
    {"period": "month", "measure": {"metric": "deal", "aggregation": "avg", "field": "amount"}},
    {
        "period": "quarter",
        "measure": {
            "ratio": {
                "numerator": {"metric": "deal", "aggregation": "count", "where": {"new": True}},
                "denominator": {"metric": "visit", "aggregation": "sum"},
            }
        },
    },
]
kpi_defs = st.sampled_from(POOL)
versions = st.fixed_dictionaries(
    {
        "calendar": st.sampled_from(
            [("01-01", "UTC"), ("04-01", "UTC"), ("01-01", "Asia/Kolkata")]
        ),
        "kpis": st.dictionaries(st.sampled_from(["a", "b", "c"]), kpi_defs, max_size=3),
    }
)
events = st.builds(
    lambda i, metric, hours, value, region, new, amount: Observed(
        f"e{i}",
        "t",
        metric,
        float(value),
        START + timedelta(hours=hours),
        {"region": region, "new": new, "amount": amount},
        "api",
        START + timedelta(hours=hours, minutes=5),
    ),
    st.integers(0, 40),
    st.sampled_from(["deal", "visit"]),
    st.integers(0, 24 * 30),
    st.integers(0, 9),
    st.sampled_from(["emea", "amer"]),
    st.booleans(),
    st.integers(1, 500),
)
steps = st.lists(
    st.one_of(
        versions.map(lambda v: ("strategy", v)),
        st.lists(events, max_size=8).map(lambda b: ("events", b)),
        # a client resends events already accepted (picked by position in the archive)
        st.lists(st.integers(0, 200), min_size=1, max_size=5).map(lambda b: ("resend", b)),
        st.just(("restart", None)),
        # an operator's `kpi recompute --kpi ID` (one of the ids) or `--all` (None)
        st.sampled_from(["a", "b", "c", None]).map(lambda k: ("recompute", k)),
    ),
    max_size=14,
)


def build(version: dict[str, Any]) -> Strategy:
    start, zone = version["calendar"]
    nodes: dict[tuple[str, str], dict[str, Any]] = {
        ("organization", "organization"): {"fiscal_year_start": start, "timezone": zone}
    }
    for kpi_id, d in version["kpis"].items():
        nodes[("kpi", kpi_id)] = {"title": kpi_id, **d}
    return Strategy.build("t", typed(nodes))


def merge(buckets: Buckets, deltas: Buckets) -> None:
    for key, state in deltas.items():
        buckets[key] = buckets[key].merge(state) if key in buckets else state


def forget(buckets: Buckets, kpis: set[str]) -> None:
    for key in [k for k in buckets if k[1] in kpis]:
        del buckets[key]


def identity(o: Observed) -> tuple[str, str, str, datetime]:
    return (o.tenant_id, o.metric, o.id, o.time)


def recompute(buckets: Buckets, archive: list[Observed], after: Strategy, kpis: set[str]) -> None:
    """A recompute job: the KPIs' buckets are dropped and folded again from the archive."""
    forget(buckets, kpis)
    folder = ArchiveFolder(restrict(after, kpis))
    rows = [
        (o.id, o.metric, o.value, orjson.dumps(o.dimensions).decode(), o.time, o.received_at)
        for o in archive
    ]
    folder.fold(rows)
    merge(buckets, folder.folded.deltas)


class Evaluator:
    """The served state: the archive (also the dedup), the buckets, the strategy of the
    moment, and what a restart does again (the batch in flight, the last recompute)."""

    def __init__(self) -> None:
        self.strategy = build({"calendar": ("01-01", "UTC"), "kpis": {}})
        self.archive: dict[tuple[str, str, str, datetime], Observed] = {}
        self.buckets: Buckets = {}
        self.last_batch: list[Observed] = []
        self.last_job: set[str] = set()

    def apply(self, version: dict[str, Any]) -> None:
        after = build(version)
        forget(self.buckets, set(self.strategy.kpis) - set(after.kpis))
        self.job(after, set(affected(self.strategy, after)))
        self.strategy = after

    def job(self, strategy: Strategy, kpis: set[str]) -> None:
        recompute(self.buckets, list(self.archive.values()), strategy, kpis)
        self.last_job = kpis

    def consume(self, batch: list[Observed]) -> None:
        fresh_ = [o for o in batch if identity(o) not in self.archive]
        fresh = list({identity(o): o for o in reversed(fresh_)}.values())  # first copy wins
        self.archive.update((identity(o), o) for o in fresh)
        merge(self.buckets, fold(fresh, {"t": self.strategy}).deltas)
        self.last_batch = batch

    def resend(self, positions: list[int]) -> None:
        kept = list(self.archive.values())
        if kept:
            self.consume([kept[p % len(kept)] for p in positions])

    def restart(self) -> None:
        self.consume(self.last_batch)
        self.job(self.strategy, self.last_job & set(self.strategy.kpis))

    def operator(self, kpi_id: str | None) -> None:
        kpis = set(self.strategy.kpis) if kpi_id is None else {kpi_id} & set(self.strategy.kpis)
        self.job(self.strategy, kpis)


def served_actuals(strategy: Strategy, buckets: Buckets, times: list[datetime]) -> dict[Any, Any]:
    """Every KPI's actual in every period an event falls in, as the read API computes it."""
    out: dict[Any, Any] = {}
    for kpi in strategy.kpis.values():
        for at in times:
            bucket = strategy.calendar.bucket(kpi.period_kind, at)
            out[(kpi.id, bucket.key)] = actual(strategy, kpi, bucket, buckets)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_served_buckets_equal_a_fold_from_scratch(plan: list[tuple[str, Any]]) -> None:
    evaluator = Evaluator()
    handlers: dict[str, Callable[[Any], None]] = {
        "strategy": evaluator.apply,
        "events": evaluator.consume,
        "resend": evaluator.resend,
        "restart": lambda _: evaluator.restart(),
        "recompute": evaluator.operator,
    }
    for kind, payload in plan:
        handlers[kind](payload)
    final, archive = evaluator.strategy, list(evaluator.archive.values())
    scratch = fold(archive, {"t": final}).deltas
    assert evaluator.buckets == scratch
    times = [o.time for o in archive]
    assert served_actuals(final, evaluator.buckets, times) == served_actuals(final, scratch, times)
