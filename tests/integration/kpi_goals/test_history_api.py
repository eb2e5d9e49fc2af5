"""Every change of a KPI's definition is kept with who, when and why; targets as of a date."""

from datetime import timedelta

from tests.integration.kpi_goals.conftest import Tenant
from tests.support.strategy_events import ACME

Q2 = '{period: 2026-Q2, value: 150, reason: "Q1 review: 100 reached, new channels being tried"}'


async def test_history_keeps_who_when_and_why(acme: Tenant) -> None:
    clock = acme.goals.clock
    created = clock.now
    editor_resp = await acme.goals.http.post(
        "/v1/api-keys", json={"role": "editor"}, headers=acme.auth()
    )
    editor, editor_id = editor_resp.json()["api_key"], editor_resp.json()["key_id"]
    try:
        clock.now = created + timedelta(days=40)
        edited = ACME.read_text().replace("    target: 50\n", "    target: 40\n")
        resp = await acme.apply(edited, editor, **{"X-Change-Reason": "Q1 review: hiring freeze"})
        assert resp.status_code == 200
        clock.now = created + timedelta(days=80)
        again = edited.replace("    target: 40\n", "    target: 45\n")
        assert (await acme.apply(again, editor, "?reason=partial%20recovery")).status_code == 200
    finally:
        clock.now = created
    history = (await acme.get("/v1/kpis/new-clients/history")).json()["history"]
    assert [(h["revision"], h["action"], h["reason"]) for h in history] == [
        (1, "create", None),
        (2, "update", "Q1 review: hiring freeze"),
        (3, "update", "partial recovery"),
    ]
    assert history[1]["key_id"] == editor_id
    assert history[1]["fields"] == {"target": {"before": 50, "after": 40}}
    assert history[1]["target_changed"] is True
    assert history[2]["changed_at"].startswith((created + timedelta(days=80)).date().isoformat())


async def test_the_reason_of_a_per_period_target_is_recorded(goals_tenant: Tenant) -> None:
    text = ACME.read_text()
    first = text.replace(Q2, "{period: 2026-Q2, value: 200}")
    assert (await goals_tenant.apply(first)).status_code == 200
    assert (await goals_tenant.apply(text)).status_code == 200
    history = (await goals_tenant.get("/v1/kpis/qualified-leads/history")).json()["history"]
    assert history[-1]["reason"] == "Q1 review: 100 reached, new channels being tried"


async def test_targets_as_of_a_date(acme: Tenant) -> None:
    clock = acme.goals.clock
    start = clock.now
    try:
        clock.now = start + timedelta(days=30)
        edited = ACME.read_text().replace("    target: 4.5\n", "    target: 4.7\n")
        assert (await acme.apply(edited)).status_code == 200
    finally:
        clock.now = start
    before = (await acme.get(f"/v1/kpis/csat/targets?as_of={start.date()}")).json()
    after = await acme.get(f"/v1/kpis/csat/targets?as_of={(start + timedelta(days=31)).date()}")
    assert (before["target"], before["revision"]) == (4.5, 1)
    assert (after.json()["target"], after.json()["revision"]) == (4.7, 2)
    earlier = await acme.get(f"/v1/kpis/csat/targets?as_of={(start - timedelta(days=1)).date()}")
    assert earlier.status_code == 404
    assert (await acme.get("/v1/kpis/nope/history")).status_code == 404


async def test_targets_are_resolved_per_period_on_the_fiscal_calendar(goals_tenant: Tenant) -> None:
    """With a fiscal year from April, 2026-02-01 lies in fiscal 2025's Q4 and 2026-05-01 in
    fiscal 2026's Q1: the published contract names both periods and their targets."""
    text = ACME.read_text().replace('fiscal_year_start: "01-01"', 'fiscal_year_start: "04-01"')
    text = text.replace("{period: 2026-Q1, value: 200}", "{period: 2025-Q4, value: 90}")
    assert (await goals_tenant.apply(text)).status_code == 200
    feb = await goals_tenant.get("/v1/kpis/qualified-leads/targets?at=2026-02-01T00:00:00Z")
    may = await goals_tenant.get("/v1/kpis/qualified-leads/targets?at=2026-05-01T00:00:00Z")
    assert feb.status_code == 200, feb.text
    assert feb.json()["at"]["period"] == "2025-Q4"
    assert feb.json()["at"]["target"] == 90
    assert (may.json()["at"]["period"], may.json()["at"]["target"]) == ("2026-Q1", None)
    assert may.json()["at"]["start"] == "2026-04-01T00:00:00+00:00"
    revenue = (await goals_tenant.get("/v1/kpis/revenue/targets")).json()
    assert revenue["resolved"]["default"] == 12_000_000
    assert revenue["period_kind"] == "year"
