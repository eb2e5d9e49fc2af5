from datetime import UTC, datetime

from kpi_notifier.scorecards import plan_scorecard, unit_kpis, week_due

from tests.unit.kpi_notifier.acme import acme


def test_the_weekly_digest_is_due_from_monday_8_in_the_organisations_timezone() -> None:
    assert week_due(datetime(2026, 2, 23, 7, 59, tzinfo=UTC), "UTC") is None
    assert week_due(datetime(2026, 2, 23, 8, 0, tzinfo=UTC), "UTC") == "2026-W09"
    assert week_due(datetime(2026, 3, 1, 23, 0, tzinfo=UTC), "UTC") == "2026-W09"
    # Monday 08:00 in Tokyo is Sunday 23:00 UTC.
    assert week_due(datetime(2026, 3, 1, 23, 0, tzinfo=UTC), "Asia/Tokyo") == "2026-W10"


def test_a_units_scorecard_covers_its_subtree_with_the_latest_status() -> None:
    rows = unit_kpis(acme(), "sales", {"new-clients": {"status": "off_track", "actual": 12}})
    assert [(r["kpi_id"], r["status"]) for r in rows] == [
        ("new-clients", "off_track"),
        ("revenue-amer", "no_data"),
        ("revenue-emea", "no_data"),
    ]


def test_the_unit_owner_gets_one_keyed_digest_per_week() -> None:
    [planned] = plan_scorecard(acme(), "sales", "2026-W09", {})
    assert planned.dedup_key == "scorecard:sales:2026-W09:email:dana"
    assert planned.kind == "digest"
    assert planned.context["kind"] == "scorecard"
