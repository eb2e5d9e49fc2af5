"""The alignment catalogue on the acme strategy, in pure form (the API tests cover each
rule firing and not firing)."""

from datetime import UTC, datetime

from kpi_goals.alignment import RULES, check, today_in
from kpi_goals.cascade import build, chains
from kpi_goals.nodes import to_nodes
from kpi_goals.parsing import parse_yaml

from tests.support.strategy_events import ACME

NODES = to_nodes(parse_yaml(ACME.read_text()).data)


def test_rules_have_unique_ids_and_descriptions() -> None:
    assert len({r.id for r in RULES}) == len(RULES)
    assert all(r.description for r in RULES)


def test_acme_before_its_first_review_has_only_scorecard_notes() -> None:
    found = check(NODES, datetime(2026, 1, 2, tzinfo=UTC), 7)
    assert {(f.rule, f.node_id) for f in found} == {
        ("only_financial_kpis", "sales-emea"),
        ("only_financial_kpis", "sales-amer"),
    }


def test_today_is_taken_in_the_organisation_time_zone() -> None:
    nodes = [n for n in NODES if n.node_type != "organization"]
    org = next(n for n in NODES if n.node_type == "organization")
    tokyo = type(org)(org.node_type, org.node_id, {**org.definition, "timezone": "Asia/Tokyo"})
    late = datetime(2026, 1, 30, 20, 0, tzinfo=UTC)
    assert today_in([org, *nodes], late).isoformat() == "2026-01-30"
    assert today_in([tokyo, *nodes], late).isoformat() == "2026-01-31"


def test_a_kpi_serving_two_objectives_has_two_chains() -> None:
    found = chains(NODES, "ar-days")
    assert found is not None
    assert [[n["id"] for n in c] for c in found] == [
        ["ar-days", "invoices-paid-on-time", "collect-faster", "grow-revenue"],
        ["ar-days", "invoices-paid-on-time", "collect-faster", "raise-profitability"],
    ]
    assert chains(NODES, "grow-revenue") is None
    assert build(NODES).below("raise-profitability") >= {"ar-days", "profit-margin"}
