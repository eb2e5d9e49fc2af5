"""Which burn-rate rules apply to a KPI (its own; a route's, by the route's match; only KPIs
that accrue) and what happens to an open alert whose rule is removed."""

from datetime import UTC, datetime
from typing import Any

from kpi_common.calendar import FiscalCalendar
from kpi_evaluator.burn_alerts import alerts, eligible, rules_for
from kpi_evaluator.burn_events import Period
from kpi_evaluator.burn_rates import BurnState
from kpi_evaluator.definitions import Strategy
from kpi_evaluator.status import Evaluation

from tests.support.strategy_events import definitions, load

NOW = datetime(2026, 6, 1, tzinfo=UTC)
YEAR = FiscalCalendar().year(2026)


def strategy(doc: dict[str, Any] | None = None) -> Strategy:
    return Strategy.build("t1", definitions(doc or load()))


def test_the_acme_rule_is_on_cash_flow_only_and_only_accruing_kpis_are_eligible() -> None:
    s = strategy()
    assert {
        k: [r.key for r in rules_for(s, kpi)] for k, kpi in s.kpis.items() if rules_for(s, kpi)
    } == {"cash-flow": ["28d-7d-x2"]}
    assert eligible(s.kpis["revenue"])
    assert eligible(s.kpis["new-clients"])
    assert not eligible(s.kpis["csat"])  # avg: a level, nothing accrues
    assert not eligible(s.kpis["churn-rate"])  # a ratio


def test_a_route_rule_applies_to_every_eligible_kpi_its_match_selects() -> None:
    doc = load()
    doc["alerts"]["routes"][1]["burn_rates"] = [
        {"long": "2w", "short": "2d", "factor": 3, "severity": "critical", "mode": "shadow"}
    ]  # the sales route: the sales unit and the units below it
    s = strategy(doc)
    selected = sorted(k for k, kpi in s.kpis.items() if rules_for(s, kpi))
    # cash-flow: its own rule; the regions' revenue: their units are below sales
    assert selected == ["cash-flow", "new-clients", "revenue-amer", "revenue-emea"]
    [rule] = rules_for(s, s.kpis["new-clients"])
    assert (rule.key, rule.route_id, rule.spec.mode) == ("route1:14d-2d-x3", "1", "shadow")
    doc["alerts"]["routes"][1]["match"]["severity"] = "warning"  # a critical rule: not this route
    s = strategy(doc)
    assert rules_for(s, s.kpis["new-clients"]) == []


def test_an_open_alert_whose_rule_is_removed_resolves() -> None:
    with_rule = strategy()
    [rule] = rules_for(with_rule, with_rule.kpis["cash-flow"])
    doc = load()
    next(k for k in doc["kpis"] if k["id"] == "cash-flow").pop("burn_rates")
    s = strategy(doc)
    ev = Evaluation(500_000.0, 1_150_000.0, 475_000.0, 1_200_000.0, "on_track", 1.0, 1.05)
    open_alert = {rule.key: BurnState("a-1", NOW, 1, rule)}
    states, events = alerts(s, Period(s.kpis["cash-flow"], YEAR, ev), open_alert, {}, NOW)
    assert states == {}
    [event] = events
    assert (event.type, event.data["alert_id"], event.data["reason"]) == (
        "kpi.burn_rate.resolved",
        "a-1",
        "rule_removed",
    )
    assert event.data["long_burn_rate"] is None
