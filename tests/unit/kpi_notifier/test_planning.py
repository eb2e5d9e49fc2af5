from datetime import timedelta

from kpi_notifier.directory import Match
from kpi_notifier.planning import (
    announced,
    escalation_due,
    hold_back,
    plan_escalation,
    plan_opened,
    plan_reminder,
    plan_resolved,
    reminder_due,
)
from kpi_notifier.routing import Silence

from tests.unit.kpi_notifier.acme import T0, acme, breach

DAY = timedelta(days=1)


def test_one_delivery_per_recipient_per_channel_with_stable_dedup_keys() -> None:
    planned = plan_opened(acme(), breach(), [], T0)
    assert [p.dedup_key for p in planned] == [
        "brc-new-clients:opened:email:dana",
        "brc-new-clients:opened:slack:sales-slack",
    ]
    assert {p.kind for p in planned} == {"breach"}
    assert planned == plan_opened(acme(), breach(), [], T0 + DAY)
    resolved = plan_resolved(acme(), breach(), [], T0)
    assert resolved[0].dedup_key == "brc-new-clients:resolved:email:dana"


def test_unknown_recipients_are_planned_so_the_log_shows_the_problem() -> None:
    doc_routes = acme()
    from dataclasses import replace

    d = replace(doc_routes, routes=(replace(doc_routes.routes[2], notify=("ghost",)),))
    assert [p.recipient.to for p in plan_opened(d, breach("csat", "service", "sam"), [], T0)] == [
        "ghost"
    ]


def test_silenced_deliveries_are_planned_as_suppressed() -> None:
    s = Silence("s1", Match(kpis=frozenset({"new-clients"})), ends_at=T0 + DAY)
    assert {p.suppressed_by for p in plan_opened(acme(), breach(), [s], T0)} == {"s1"}


def test_reminders_fall_every_interval_until_acknowledged_or_resolved() -> None:
    b = breach()
    assert reminder_due(b, DAY, T0 + timedelta(hours=23)) is None
    assert reminder_due(b, DAY, T0 + DAY) == 1
    assert reminder_due(breach(reminders_sent=1), DAY, T0 + DAY + timedelta(hours=5)) is None
    assert reminder_due(breach(reminders_sent=1), DAY, T0 + 2 * DAY) == 2
    assert reminder_due(breach(acked_at=T0), DAY, T0 + 3 * DAY) is None
    assert reminder_due(breach(resolved_at=T0), DAY, T0 + 3 * DAY) is None
    keys = [p.dedup_key for p in plan_reminder(acme(), b, 2, [], T0)]
    assert keys[0] == "brc-new-clients:reminder2:email:dana"


def test_escalation_after_the_routes_delay_to_the_parent_owner_once() -> None:
    d = acme()
    assert not escalation_due(d, breach(), T0 + 2 * DAY - timedelta(seconds=1))
    assert escalation_due(d, breach(), T0 + 2 * DAY)
    assert not escalation_due(d, breach(escalated_at=T0 + 2 * DAY), T0 + 3 * DAY)
    assert not escalation_due(d, breach(acked_at=T0), T0 + 3 * DAY)
    assert not escalation_due(d, breach("csat", "service", "sam"), T0 + 30 * DAY)
    planned = plan_escalation(d, breach(), [], T0)
    assert [(p.kind, p.dedup_key) for p in planned] == [
        ("escalation", "brc-new-clients:escalation:email:morgan")
    ]


def test_a_waiting_notice_is_held_back_after_an_ack_a_resolution_or_a_new_silence() -> None:
    d, now = acme(), T0 + DAY
    assert hold_back("reminder", [breach(acked_at=T0)], d, [], now) == ("cancelled", "acknowledged")
    assert hold_back("escalation", [breach(resolved_at=T0)], d, [], now) == (
        "cancelled",
        "resolved",
    )
    assert hold_back("resolved", [breach(resolved_at=T0)], d, [], now) is None
    assert hold_back("reminder", [breach()], d, [], now) is None
    s = Silence("s1", Match(units=frozenset({"sales"})), ends_at=now + DAY)
    assert hold_back("breach", [breach()], d, [s], now) == ("suppressed", "s1")
    assert hold_back("test", [], d, [s], now) is None


def test_an_incident_notification_is_held_back_only_when_each_of_its_breaches_is_silenced() -> None:
    d, now = acme(), T0 + DAY
    s = Silence("s1", Match(units=frozenset({"sales"})), ends_at=now + DAY)
    sales, service = breach(), breach("csat", "service", "sam")
    assert hold_back("incident", [sales], d, [s], now) == ("suppressed", "s1")
    assert hold_back("incident_update", [sales, sales], d, [s], now) == ("suppressed", "s1")
    assert hold_back("incident_closed", [sales], d, [s], now) == ("suppressed", "s1")
    assert hold_back("incident", [sales, service], d, [s], now) is None


def test_an_incident_notification_announces_its_gathered_breaches() -> None:
    gathered = {"kind": "incident", "incident_id": "inc-1", "breaches": ["b1", "b2"]}
    closed = {"kind": "incident_closed", "incident_id": "inc-1", "breaches": []}
    assert announced("incident", gathered, "b1") == ["b1", "b2"]
    assert announced("incident_closed", closed, "b3") == ["b3"]
    assert announced("breach", {"breaches": [{"x": 1}]}, "b4") == ["b4"]
    assert announced("test", {}, None) == []
