"""Property: whatever the interleaving of strategy versions, event batches and duplicates,
the buckets the evaluator keeps (live folds of new events with the strategy of the moment,
plus the recomputes `affected` asks for at each change, folded from the archive) equal a
from-scratch fold of every distinct event with the final strategy (pure, no database)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kpi_common.observed import Observed
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
    lambda i, metric, hours, value, region, new: Observed(
        f"e{i}",
        "t",
        metric,
        float(value),
        START + timedelta(hours=hours),
        {"region": region, "new": new},
        "api",
        START + timedelta(hours=hours, minutes=5),
    ),
    st.integers(0, 40),
    st.sampled_from(["deal", "visit"]),
    st.integers(0, 24 * 30),
    st.integers(0, 9),
    st.sampled_from(["emea", "amer"]),
    st.booleans(),
)
steps = st.lists(
    st.one_of(
        versions.map(lambda v: ("strategy", v)),
        st.lists(events, max_size=8).map(lambda b: ("events", b)),
    ),
    max_size=12,
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


def recompute(buckets: Buckets, archive: list[Observed], before: Strategy, after: Strategy) -> None:
    forget(buckets, set(before.kpis) - set(after.kpis))
    found = affected(before, after)
    forget(buckets, set(found))
    folder = ArchiveFolder(restrict(after, found))
    rows = [
        (o.id, o.metric, o.value, orjson.dumps(o.dimensions).decode(), o.time, o.received_at)
        for o in archive
    ]
    folder.fold(rows)
    merge(buckets, folder.folded.deltas)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_served_buckets_equal_a_fold_from_scratch(plan: list[tuple[str, Any]]) -> None:
    current = build({"calendar": ("01-01", "UTC"), "kpis": {}})
    archive: dict[tuple[str, str, str, datetime], Observed] = {}
    buckets: Buckets = {}
    for kind, payload in plan:
        if kind == "strategy":
            after = build(payload)
            recompute(buckets, list(archive.values()), current, after)
            current = after
            continue
        batch = [o for o in payload if identity(o) not in archive]
        fresh = list({identity(o): o for o in reversed(batch)}.values())  # first copy wins
        archive.update((identity(o), o) for o in fresh)
        merge(buckets, fold(fresh, {"t": current}).deltas)
    assert buckets == fold(list(archive.values()), {"t": current}).deltas
