"""A person's inbox as plain rules, on the acme directory."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kpi_notifier.destinations import message_context
from kpi_notifier.inbox import SECTIONS, InboxFacts, digest_week, inbox, plan_inbox_digest
from kpi_notifier.messages import Messages

from tests.unit.kpi_notifier.acme import T0, acme, breach


def facts(**kw: Any) -> InboxFacts:
    values: dict[str, Any] = {"directory": acme(), "now": T0} | kw
    return InboxFacts(**values)


def test_an_empty_inbox_has_every_section_and_a_zero_count() -> None:
    box = inbox(facts(statuses={k: {"status": "on_track"} for k in acme().kpis}), "priya")
    assert box["count"] == 0
    assert list(SECTIONS) == ["breaches", "reviews", "kpis"]
    assert all(box[s] == [] for s in SECTIONS)
    assert plan_inbox_digest("priya", "2026-W09", box) == []


def test_breaches_are_listed_for_their_owner_only_and_shadow_transitions_never() -> None:
    mine = breach("revenue-emea", "sales-emea", "lars")
    other = breach("new-clients", "sales", "dana")
    shadow = breach("revenue-amer", "sales-amer", "lars", breach_id="brc-shadow",
                    facts={"mode": "shadow"})  # fmt: skip
    box = inbox(facts(breaches=[mine, other, shadow]), "lars")
    assert [b["breach_id"] for b in box["breaches"]] == ["brc-revenue-emea"]
    assert box["breaches"][0]["opened_at"] == T0.isoformat()


def test_an_owner_less_breach_is_owed_by_its_kpis_owner() -> None:
    b = replace(breach("revenue-emea", "sales-emea"), owner=None)
    assert [x["kpi_id"] for x in inbox(facts(breaches=[b]), "lars")["breaches"]] == ["revenue-emea"]


def test_reviews_show_once_their_reminder_window_opens_and_while_overdue() -> None:
    # sales-pipeline-review: monthly from 2026-01-30, lars attends; on T0 (Feb 20) the
    # Jan 30 one is overdue; held, the Feb 28 one is due in 8 days (remind_before 2d).
    held = {"sales-pipeline-review": {date(2026, 1, 30)}}
    overdue = inbox(facts(), "lars")["reviews"]
    assert [(r["review_id"], r["notice"], r["days_overdue"]) for r in overdue] == [
        ("sales-pipeline-review", "overdue", 21)
    ]
    assert inbox(facts(held=held), "lars")["reviews"] == []
    soon = inbox(facts(held=held, now=datetime(2026, 2, 26, 9, tzinfo=UTC)), "lars")["reviews"]
    assert [(r["due"], r["notice"], r["overdue"]) for r in soon] == [
        ("2026-02-28", "before-2d", False)
    ]
    assert inbox(facts(), "priya")["reviews"] == []  # not an attendee


def test_kpis_without_current_data_are_listed_for_their_owner() -> None:
    statuses = {
        "revenue-emea": {"status": "stale", "period": "FY2026", "evaluated_at": "2026-02-19"},
    }
    box = inbox(facts(statuses=statuses), "lars")
    assert [(k["kpi_id"], k["status"]) for k in box["kpis"]] == [("revenue-emea", "stale")]
    fine = {"revenue-emea": {"status": "off_track"}}
    assert inbox(facts(statuses=fine), "lars")["kpis"] == []
    never = inbox(facts(), "lars")["kpis"]
    assert [(k["kpi_id"], k["status"], k["evaluated_at"]) for k in never] == [
        ("revenue-emea", "no_data", None)
    ]


def test_the_weekly_digest_is_the_inbox_itself() -> None:
    box = inbox(facts(breaches=[breach("revenue-emea", "sales-emea", "lars")]), "lars")
    (planned,) = plan_inbox_digest("lars", "2026-W09", box)
    assert planned.dedup_key == "inbox:2026-W09:email:lars"
    assert planned.context == {"kind": "inbox", "week": "2026-W09", "inbox": box}
    assert box["count"] == len(box["breaches"]) + len(box["reviews"]) + len(box["kpis"])
    context = message_context(acme(), planned.context, "email", "lars")
    message = Messages().render(planned.context["kind"], context)
    assert message.subject == "Your inbox 2026-W09: 3 items waiting on you"
    assert "kpi ack brc-revenue-emea" in message.text
    assert "* sales-pipeline-review: due 2026-01-30, 21 day(s) overdue" in message.text
    assert "* Revenue EMEA: no data" in message.text
    assert "kpi ack brc-revenue-emea" in message.html
    assert "Revenue EMEA" in message.slack


def test_the_digest_is_due_on_monday_from_eight_in_the_organisations_timezone() -> None:
    monday = datetime(2026, 2, 23, 8, 0, tzinfo=UTC)
    assert digest_week(monday - timedelta(minutes=1), "UTC") is None
    assert digest_week(monday, "UTC") == "2026-W09"
    assert digest_week(monday + timedelta(hours=15, minutes=59), "UTC") == "2026-W09"
    assert digest_week(monday + timedelta(days=1), "UTC") is None  # Tuesday: missed, not late
    sunday_night = datetime(2026, 2, 22, 23, 30, tzinfo=UTC)  # Monday 08:30 in Tokyo
    assert digest_week(sunday_night, "Asia/Tokyo") == "2026-W09"
    assert digest_week(monday + timedelta(hours=15), "Asia/Tokyo") is None  # Tuesday there
