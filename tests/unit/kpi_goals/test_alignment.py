"""The alignment catalogue on the acme strategy, in pure form (the API tests cover each
rule firing and not firing)."""

from kpi_goals.alignment import RULES, check
from kpi_goals.cascade import build, chains
from kpi_goals.nodes import to_nodes
from kpi_goals.parsing import parse_yaml

from tests.support.strategy_events import ACME

NODES = to_nodes(parse_yaml(ACME.read_text()).data)


def test_rules_have_unique_ids_and_descriptions() -> None:
    assert len({r.id for r in RULES}) == len(RULES)
    assert all(r.description for r in RULES)


def test_acme_has_only_scorecard_notes_and_no_review_rule() -> None:
    found = check(NODES, 7)
    assert {(f.rule, f.node_id) for f in found} == {
        ("only_financial_kpis", "sales-emea"),
        ("only_financial_kpis", "sales-amer"),
    }
    assert "review_overdue" not in {r.id for r in RULES}  # the notifier's (GET /v1/findings)


def test_a_kpi_serving_two_objectives_has_two_chains() -> None:
    found = chains(NODES, "ar-days")
    assert found is not None
    assert [[n["id"] for n in c] for c in found] == [
        ["ar-days", "invoices-paid-on-time", "collect-faster", "grow-revenue"],
        ["ar-days", "invoices-paid-on-time", "collect-faster", "raise-profitability"],
    ]
    assert chains(NODES, "grow-revenue") is None
    assert build(NODES).below("raise-profitability") >= {"ar-days", "profit-margin"}
