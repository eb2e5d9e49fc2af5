"""Shadow mode as plain rules: a shadow route is tried beside the live ones and never
decides who is paged; a shadow transition plans as usual, every delivery a shadow one."""

from datetime import timedelta
from typing import Any

from kpi_notifier.planning import plan_escalation, plan_opened, plan_reminder, plan_resolved
from kpi_notifier.routing import choose_route

from tests.support.strategy_events import load
from tests.unit.kpi_notifier.acme import T0, acme, breach


def with_shadow_route(**route: Any) -> dict[str, Any]:
    """acme with a shadow route first: it matches sales, as the live sales route does."""
    doc = load()
    shadow = {"match": {"unit": "sales"}, "notify": ["morgan", "sales-slack"], "mode": "shadow"}
    doc["alerts"]["routes"].insert(0, shadow | route)
    return doc


def test_a_shadow_route_is_read_from_the_contract_and_never_chosen_to_page() -> None:
    d = acme(with_shadow_route())
    assert [r.mode for r in d.routes] == ["shadow", "live", "live", "live"]
    chosen = choose_route(d, breach())
    assert chosen is not None
    assert chosen.position == 2
    assert [r.mode for r in acme().routes] == ["live", "live", "live"]  # acme unchanged


def test_a_matching_shadow_route_plans_what_it_would_send_beside_the_live_route() -> None:
    planned = plan_opened(acme(with_shadow_route()), breach(), [], T0)
    live = [(p.dedup_key, p.mode) for p in planned if p.mode == "live"]
    shadow = [(p.dedup_key, p.route) for p in planned if p.mode == "shadow"]
    assert live == [
        ("brc-new-clients:opened:email:dana", "live"),
        ("brc-new-clients:opened:slack:sales-slack", "live"),
    ]
    assert shadow == [
        ("shadow:route0:brc-new-clients:opened:email:morgan", 0),
        ("shadow:route0:brc-new-clients:opened:slack:sales-slack", 0),
    ]


def test_a_shadow_route_follows_reminders_and_resolution_but_not_escalation() -> None:
    d, b = acme(with_shadow_route()), breach()
    reminder = [p.dedup_key for p in plan_reminder(d, b, 1, [], T0) if p.mode == "shadow"]
    resolved = [p.dedup_key for p in plan_resolved(d, b, [], T0) if p.mode == "shadow"]
    assert reminder[0] == "shadow:route0:brc-new-clients:reminder1:email:morgan"
    assert resolved[0] == "shadow:route0:brc-new-clients:resolved:email:morgan"
    assert {p.mode for p in plan_escalation(d, b, [], T0 + timedelta(days=3))} == {"live"}


def test_a_shadow_route_that_does_not_match_plans_nothing() -> None:
    d = acme(with_shadow_route(match={"unit": "finance"}))
    assert {p.mode for p in plan_opened(d, breach(), [], T0)} == {"live"}


def test_a_shadow_transition_makes_every_planned_delivery_a_shadow_one() -> None:
    b = breach(facts={"breach_id": "brc-new-clients", "kpi_title": "x", "mode": "shadow"})
    for planned in (plan_opened(acme(), b, [], T0), plan_reminder(acme(), b, 2, [], T0)):
        assert planned
        assert {(p.mode, p.route) for p in planned} == {("shadow", None)}
    live = breach(facts={"breach_id": "brc-new-clients", "mode": "live"})
    assert {p.mode for p in plan_opened(acme(), live, [], T0)} == {"live"}
