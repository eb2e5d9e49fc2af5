from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kpi_cli.simulation import Event, Simulation

from tests.support.goals_targets import contract_targets
from tests.support.strategy_events import load

NOW = datetime(2026, 11, 22, 8, tzinfo=UTC)


def _sim(doc: dict[str, Any], now: datetime, **kw: Any) -> Simulation:
    return Simulation(doc, now, contract_targets(doc), **kw)


def _total(events: list[Event], metric: str, **dims: object) -> float:
    return sum(
        float(e["value"])
        for e in events
        if e["metric"] == metric and all(e["dimensions"].get(k) == v for k, v in dims.items())
    )


def test_same_seed_same_events_and_another_seed_differs() -> None:
    doc = load()
    first = _sim(doc, NOW, seed=7).events()
    assert first == _sim(doc, NOW, seed=7).events()
    assert first != _sim(doc, NOW, seed=8).events()
    assert len({e["id"] for e in first}) == len(first)


def test_events_lie_in_each_kpis_current_period_up_to_now() -> None:
    events = _sim(load(), NOW).events()
    times = [datetime.fromisoformat(str(e["time"])) for e in events]
    assert min(times) >= datetime(2026, 1, 1, tzinfo=UTC)
    assert max(times) <= NOW
    leads = [e for e in events if e["metric"] == "crm.lead.qualified"]
    assert all(str(e["time"]) >= "2026-10-01" for e in leads)


def test_filtered_kpis_feed_the_unfiltered_one_and_land_near_their_pace() -> None:
    events = _sim(load(), NOW, seed=3).events()
    elapsed = (NOW - datetime(2026, 1, 1, tzinfo=UTC)) / (
        datetime(2027, 1, 1, tzinfo=UTC) - datetime(2026, 1, 1, tzinfo=UTC)
    )
    emea = _total(events, "erp.invoice.posted", region="emea")
    assert 1.0 <= emea / (7_000_000 * elapsed) <= 1.12
    assert _total(events, "erp.invoice.posted") == pytest.approx(
        emea + _total(events, "erp.invoice.posted", region="amer")
    )


def test_planted_kpis_breach_fall_silent_or_run_ahead() -> None:
    plants = {"new-clients": "breach", "engagement": "silent", "qualified-leads": "ahead"}
    events = _sim(load(), NOW, plants=plants).events()
    assert not [e for e in events if e["metric"] == "survey.engagement"]
    won = [e for e in events if e["metric"] == "crm.deal.won"]
    # Q4 is 52 of 92 days old: expected 28 new clients; a breach reaches under half
    assert 0 < len(won) <= 13
    assert all(e["dimensions"] == {"new_customer": True} for e in won)
    leads = len([e for e in events if e["metric"] == "crm.lead.qualified"])
    assert leads >= 200 * 52 / 92 * 1.3


def test_ratio_on_one_metric_splits_events_by_the_numerator_filter() -> None:
    events = _sim(load(), NOW).events()
    sessions = [e for e in events if e["metric"] == "web.session"]
    bounced = [e for e in sessions if e["dimensions"]["bounced"] is True]
    assert 0.3 < len(bounced) / len(sessions) < 0.41


DEMO_NOW = datetime(2026, 3, 27, 12, tzinfo=UTC)


def test_since_adds_the_earlier_whole_periods_with_their_own_ids() -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    events = _sim(load(), DEMO_NOW, seed=4, since=since).events()
    assert len({e["id"] for e in events}) == len(events)
    months = {str(e["time"])[:7] for e in events if e["metric"] == "survey.csat"}
    assert months == {"2026-01", "2026-02", "2026-03"}
    assert min(str(e["time"]) for e in events) >= "2026-01-01"
    without = _sim(load(), DEMO_NOW, seed=4).events()
    assert {str(e["time"])[:7] for e in without if e["metric"] == "survey.csat"} == {"2026-03"}


def test_traffic_follows_office_hours_and_live_feeds_are_recent() -> None:
    events = _sim(load(), DEMO_NOW, seed=4, plants={"bounce-rate": "stale"}).events()
    times = [datetime.fromisoformat(str(e["time"])) for e in events]
    busy = sum(t.weekday() < 5 and 8 <= t.hour < 18 for t in times)
    assert busy / len(times) > 0.65  # uniform times would give 0.3
    newest: dict[str, datetime] = {}
    for e, t in zip(events, times, strict=True):
        newest[str(e["metric"])] = max(t, newest.get(str(e["metric"]), t))
    assert DEMO_NOW - newest["web.session"] >= timedelta(days=4)
    assert all(DEMO_NOW - t <= timedelta(hours=6) for m, t in newest.items() if m != "web.session")


def _with_kpi(kpi_id: str, **fields: Any) -> dict[str, Any]:
    doc = load()
    for kpi in doc["kpis"]:
        if kpi["id"] == kpi_id:
            kpi.pop("target", None)
            kpi.update(fields)
    return doc


def test_a_range_kpi_is_sized_from_the_middle_of_its_band() -> None:
    doc = _with_kpi("csat", direction="range", target={"min": 4.0, "max": 5.0})
    values = [float(e["value"]) for e in _sim(doc, NOW).events() if e["metric"] == "survey.csat"]
    assert 4.5 <= sum(values) / len(values) <= 4.5 * 1.12


def test_a_period_without_a_target_gets_no_events() -> None:
    doc = _with_kpi("qualified-leads", targets=[{"period": "2026-Q1", "value": 200}])
    events = _sim(doc, NOW).events()  # NOW lies in 2026-Q4
    assert not [e for e in events if e["metric"] == "crm.lead.qualified"]
    assert [e for e in _sim(doc, DEMO_NOW).events() if e["metric"] == "crm.lead.qualified"]
