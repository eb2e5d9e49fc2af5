"""Data health's rules in pure form (tests/integration/kpi_evaluator/test_data_health.py
runs them on the real stack): the tally of a batch, nearest names, and each rule's edges."""

from datetime import UTC, datetime, timedelta
from typing import Any

from kpi_common.observed import Observed
from kpi_evaluator.arrivals import Arrival, tally
from kpi_evaluator.data_health import Inputs, check, nearest
from kpi_evaluator.definitions import Strategy

from tests.support.strategy_events import typed

NOW = datetime(2026, 2, 15, tzinfo=UTC)
DAY = timedelta(days=1)
NODES: dict[tuple[str, str], dict[str, Any]] = {
    ("organization", "organization"): {"name": "x", "fiscal_year_start": "01-01"},
    ("kpi", "deals"): {
        "title": "Deals",
        "period": "quarter",
        "measure": {"metric": "crm.deal.won", "aggregation": "count"},
    },
    ("kpi", "leads"): {
        "title": "Leads",
        "period": "quarter",
        "measure": {"metric": "crm.lead.qualified", "aggregation": "count"},
    },
    ("kpi", "per-lead"): {"title": "Deals per lead", "measure": {"formula": "deals / leads"}},
    ("kpi", "idea"): {"title": "No measure yet", "period": "month"},
}
STRATEGY = Strategy.build("t", typed(NODES))


def arrived(metric: str, last: datetime, events: int = 1) -> Arrival:
    return Arrival(metric, events, last - DAY, last, "api")


def findings(arrivals: list[Arrival], with_data: set[str], now: datetime = NOW) -> set[Any]:
    inputs = Inputs(STRATEGY, {a.metric: a for a in arrivals}, with_data, now, 2 * DAY)
    return {(f.rule, f.node_id) for f in check(inputs)}


def obs(metric: str, at: datetime, source: str = "api", tenant: str = "t") -> Observed:
    return Observed("e", tenant, metric, 1.0, at, {}, source, at)


def test_a_batch_is_tallied_per_tenant_and_metric() -> None:
    early, late = NOW - DAY, NOW
    out = tally([obs("a", late, "hub"), obs("a", early), obs("b", early), obs("a", NOW, "x", "u")])
    assert out[("t", "a")] == Arrival("a", 2, early, late, "hub")
    assert out[("t", "b")].events == 1
    assert out[("u", "a")].last_source_id == "x"


def test_nearest_names_are_the_most_alike_ones() -> None:
    used = ["crm.deal.won", "crm.lead.qualified", "erp.invoice.paid"]
    assert nearest("crm.dela.won", used) == ["crm.deal.won"]
    assert nearest("weather.rain", used) == []


def test_each_rule_fires_where_it_should() -> None:
    typo = arrived("crm.dela.won", NOW, 3)
    quiet = arrived("crm.lead.qualified", NOW - 3 * DAY)
    assert findings([typo, quiet], with_data={"leads"}) == {
        ("unmatched_metric", "crm.dela.won"),
        ("kpi_without_data", "deals"),  # its metric never arrived
        ("kpi_without_data", "per-lead"),  # a formula without an actual
        ("stale_metric", "crm.lead.qualified"),
    }  # `idea` has no measure: it never lacks data


def test_nothing_fires_on_healthy_data() -> None:
    fresh = [arrived("crm.deal.won", NOW), arrived("crm.lead.qualified", NOW - DAY)]
    assert findings(fresh, with_data={"deals", "leads", "per-lead"}) == set()
