"""Inhibition: while a source breach is open, a matching target of the same labels is muted."""

from datetime import timedelta

from kpi_notifier.inhibition import inhibited_by, inhibition_id

from tests.support.strategy_events import load
from tests.unit.kpi_notifier.acme import T0, acme, breach


def test_by_default_an_open_critical_mutes_a_warning_of_its_unit_only() -> None:
    d = acme()
    critical = breach("csat", "service", "sam")
    warning = breach("churn-rate", "service", "sam", severity="warning")
    elsewhere = breach("ar-days", "finance", "priya", severity="warning")
    found = inhibited_by(d, warning, [critical])
    assert found is not None
    assert (inhibition_id(found[0]), found[1]) == ("inhibit0", critical)
    assert inhibited_by(d, elsewhere, [critical]) is None
    assert inhibited_by(d, critical, [warning]) is None
    resolved = breach("csat", "service", "sam", resolved_at=T0 + timedelta(hours=1))
    assert inhibited_by(d, warning, [resolved]) is None
    history = breach("csat", "service", "sam", urgency="restatement", restatement_id="r1")
    assert inhibited_by(d, warning, [history]) is None


def test_declared_rules_replace_the_default_and_an_empty_list_mutes_nothing() -> None:
    doc = load()
    doc["alerts"]["inhibit"] = [{"source": {"kpi": "revenue"}, "target": {"unit": "sales"}}]
    revenue = breach("revenue", "acme", "morgan")
    clients = breach("new-clients", "sales", "dana")
    assert inhibited_by(acme(doc), clients, [revenue]) is not None
    assert inhibited_by(acme(doc), breach("csat", "service", "sam", severity="warning"),
                        [breach("ar-days", "service", "x")]) is None  # fmt: skip
    doc["alerts"]["inhibit"] = []
    assert inhibited_by(acme(doc), clients, [revenue]) is None
