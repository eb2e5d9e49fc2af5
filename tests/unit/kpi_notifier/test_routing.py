from datetime import timedelta

from kpi_notifier.directory import Match
from kpi_notifier.routing import (
    Recipient,
    Silence,
    choose_route,
    escalation_target,
    recipients,
    silenced_by,
)

from tests.support.strategy_events import load
from tests.unit.kpi_notifier.acme import T0, acme, breach


def test_first_matching_route_wins_and_unit_matches_the_subtree() -> None:
    d = acme()
    assert choose_route(d, breach("ar-days", "finance", "priya")) == d.routes[0]
    assert choose_route(d, breach("new-clients", "sales", "dana")) == d.routes[1]
    assert choose_route(d, breach("revenue-emea", "sales-emea", "lars")) == d.routes[1]
    assert choose_route(d, breach("csat", "service", "sam")) == d.routes[2]


def test_sales_breach_goes_to_the_owner_by_email_and_the_sales_channel() -> None:
    found, unknown = recipients(acme(), breach("revenue-emea", "sales-emea", "lars"))
    assert found == [
        Recipient(kind="email", to="lars"),
        Recipient(kind="slack", to="sales-slack", channel="sales-slack"),
    ]
    assert unknown == []


def test_without_any_route_the_kpi_owner_hears_by_email() -> None:
    doc = load()
    doc["alerts"] = {}
    found, _ = recipients(acme(doc), breach("csat", "service", "sam"))
    assert found == [Recipient(kind="email", to="sam")]


def test_route_matches_on_severity_perspective_and_kpi() -> None:
    doc = load()
    doc["alerts"]["routes"].insert(
        0, {"match": {"severity": "warning", "perspective": "customer"}, "notify": ["morgan"]}
    )
    doc["alerts"]["routes"].insert(0, {"match": {"kpi": "csat"}, "notify": ["jo", "nobody"]})
    d = acme(doc)
    found, unknown = recipients(d, breach("csat", "service", "sam"))
    assert (found, unknown) == ([Recipient(kind="email", to="jo")], ["nobody"])
    warning = breach("new-clients", severity="warning")
    assert recipients(d, warning)[0] == [Recipient(kind="email", to="morgan")]
    assert recipients(d, breach("new-clients"))[0][0] == Recipient(kind="email", to="dana")


def test_owner_named_twice_is_notified_once() -> None:
    doc = load()
    doc["alerts"]["routes"] = [{"notify": ["owner", "dana", "owner"]}]
    assert recipients(acme(doc), breach())[0] == [Recipient(kind="email", to="dana")]


def test_escalation_goes_to_the_parent_units_owner() -> None:
    d = acme()
    assert escalation_target(d, breach("new-clients", "sales", "dana")) == "morgan"
    assert escalation_target(d, breach("revenue-emea", "sales-emea", "lars")) == "dana"
    assert escalation_target(d, breach("revenue", "acme", "morgan")) is None


def test_an_active_matching_silence_suppresses_and_an_ended_one_does_not() -> None:
    d = acme()
    s = Silence("s1", Match(units=frozenset({"sales"})), ends_at=T0 + timedelta(hours=1))
    assert silenced_by(d, [s], breach("revenue-emea", "sales-emea", "lars"), T0) == s
    assert silenced_by(d, [s], breach("ar-days", "finance", "priya"), T0) is None
    assert silenced_by(d, [s], breach(), T0 + timedelta(hours=2)) is None
