"""PUT/GET /v1/strategy against the real Postgres: apply, re-apply, dry run, round trip."""

import asyncio
from typing import Any

import orjson
import pytest
import yaml

from tests.integration.kpi_goals.conftest import Goals, Tenant
from tests.support.strategy_events import ACME, ACME_ORIGINAL, SECTIONS, load
from tests.unit.kpi_goals.test_validation import REJECTIONS
from tests.unit.kpi_goals.test_validation import acme as acme_doc

NODE_COUNT = 1 + sum(len(load()[s]) for s in SECTIONS) + 2 + 3 + 1  # + the default inhibit rule


async def test_acme_applies_unchanged_and_again_changes_nothing(goals: Goals, unique: str) -> None:
    tenant = await goals.tenant(f"first-{unique}")
    first = await tenant.apply(ACME.read_bytes())
    assert first.status_code == 200, first.text
    assert first.json()["created"] == NODE_COUNT
    assert (first.json()["updated"], first.json()["deleted"]) == (0, 0)
    again = await tenant.apply(ACME.read_bytes())
    assert again.json() == {
        "dry_run": False,
        "created": 0,
        "updated": 0,
        "deleted": 0,
        "changes": [],
    }


async def test_the_original_acme_example_applies_round_trips_and_gains_only_the_burn_rule(
    goals: Goals, unique: str
) -> None:
    tenant = await goals.tenant(f"orig-{unique}")
    first = await tenant.apply(ACME_ORIGINAL.read_bytes())
    assert first.status_code == 200, first.text
    assert first.json()["created"] == NODE_COUNT
    assert "burn_rates" not in await _cash_flow(tenant)
    back = (await tenant.get("/v1/strategy")).json()  # and it round-trips
    same = await tenant.apply(orjson.dumps(back), **{"Content-Type": "application/json"})
    assert (same.status_code, same.json()["changes"]) == (200, [])
    now = await tenant.apply(ACME.read_bytes())
    assert now.status_code == 200, now.text
    assert (now.json()["created"], now.json()["updated"], now.json()["deleted"]) == (0, 1, 0)
    assert [(c["node_type"], c["node_id"]) for c in now.json()["changes"]] == [("kpi", "cash-flow")]
    rule = {"long": "28d", "short": "7d", "factor": 2}
    assert [{k: r[k] for k in rule} for r in (await _cash_flow(tenant))["burn_rates"]] == [rule]


async def _cash_flow(tenant: Tenant) -> dict[str, Any]:
    doc = (await tenant.get("/v1/strategy")).json()
    found: dict[str, Any] = next(k for k in doc["kpis"] if k["id"] == "cash-flow")
    return found


async def test_a_dry_run_of_an_edited_copy_shows_exactly_that_edit(acme: Tenant) -> None:
    edited = ACME.read_text().replace("    target: 50\n", "    target: 55\n")
    resp = await acme.apply(edited, query="?dry_run=true")
    assert resp.status_code == 200, resp.text
    assert resp.json()["changes"] == [
        {
            "action": "update",
            "node_type": "kpi",
            "node_id": "new-clients",
            "revision": 2,
            "fields": {"target": {"before": 50, "after": 55}},
        }
    ]
    unchanged = await acme.get("/v1/kpis/new-clients")
    assert unchanged.json()["definition"]["target"] == 50
    assert unchanged.json()["revision"] == 1


async def test_get_strategy_round_trips(acme: Tenant) -> None:
    got = await acme.get("/v1/strategy")
    assert got.status_code == 200
    doc = got.json()
    assert doc["objectives"][1]["supports"] == ["grow-revenue", "raise-profitability"]
    assert doc["objectives"][0]["due"] == "2026-12-31"
    as_json = await acme.apply(orjson.dumps(doc), **{"Content-Type": "application/json"})
    assert as_json.json()["changes"] == []
    as_yaml = await acme.apply(yaml.safe_dump(doc, sort_keys=False))
    assert as_yaml.json()["changes"] == []
    assert yaml.safe_load(ACME.read_text())["kpis"][0]["id"] == doc["kpis"][0]["id"]


async def test_update_and_delete_are_applied_with_revisions(acme: Tenant) -> None:
    doc = (await acme.get("/v1/strategy")).json()
    doc["kpis"][3]["target"] = 60
    doc["reviews"].pop()
    resp = await acme.apply(orjson.dumps(doc), **{"Content-Type": "application/json"})
    body = resp.json()
    assert (body["created"], body["updated"], body["deleted"]) == (0, 1, 1)
    assert (await acme.get("/v1/kpis/new-clients")).json()["revision"] == 2
    assert (await acme.get("/v1/reviews/sales-pipeline-review")).status_code == 404


async def test_an_invalid_document_is_rejected_whole_with_paths_and_lines(acme: Tenant) -> None:
    text = ACME.read_text()
    broken = text.replace(
        "aggregation: count, where: {new_customer: true}",
        "aggregation: median, where: {new_customer: true}",
    )
    broken = broken.replace("    target: 7.5\n", "    target: 8\n    colour: red\n")
    resp = await acme.apply(broken)
    assert resp.status_code == 422
    errors = resp.json()["error"]["errors"]
    assert [e["path"] for e in errors] == ["kpis[3].measure.aggregation", "kpis[12].colour"]
    assert all(isinstance(e["line"], int) for e in errors)
    assert (await acme.get("/v1/kpis/engagement")).json()["definition"]["target"] == 7.5


async def test_concurrent_applies_serialise_per_tenant(acme: Tenant) -> None:
    texts = [
        ACME.read_text().replace("    target: 50\n", f"    target: {50 + i}\n") for i in range(1, 6)
    ]
    results = await asyncio.gather(*(acme.apply(t) for t in texts))
    assert all(r.status_code == 200 for r in results)
    revisions = sorted(r.json()["changes"][0]["revision"] for r in results)
    assert revisions == [2, 3, 4, 5, 6]
    history = (await acme.get("/v1/kpis/new-clients/history")).json()["history"]
    assert [h["revision"] for h in history] == [1, 2, 3, 4, 5, 6]


async def test_schema_is_served(goals: Goals) -> None:
    resp = await goals.http.get("/v1/strategy/schema")
    schema = resp.json()
    assert schema["title"] == "StrategyDocument"
    assert schema["additionalProperties"] is False
    assert "Kpi" in schema["$defs"]


@pytest.mark.parametrize("name", sorted(REJECTIONS))
async def test_each_rejection_through_the_api_names_its_field_path(
    goals_tenant: Tenant, name: str
) -> None:
    edit, path, message = REJECTIONS[name]
    doc = acme_doc()
    edit(doc)
    resp = await goals_tenant.apply(orjson.dumps(doc), **{"Content-Type": "application/json"})
    assert resp.status_code == 422
    found = [(e["path"], e["message"]) for e in resp.json()["error"]["errors"]]
    assert any(p == path and message in m for p, m in found), found
    assert (await goals_tenant.get("/v1/strategy")).json()["kpis"] == []


async def test_applies_are_counted(acme: Tenant) -> None:
    await acme.apply(ACME.read_bytes())
    metrics = (await acme.goals.http.get("/metrics")).text
    assert 'goals_strategy_applies_total{outcome="unchanged"}' in metrics
    assert 'goals_node_changes_total{action="create"}' in metrics


async def test_a_document_over_the_size_limit_is_413(goals_tenant: Tenant) -> None:
    limit = goals_tenant.goals.app.state.deps.settings.max_document_bytes
    resp = await goals_tenant.apply(b"#" * (limit + 1))
    assert resp.status_code == 413


async def test_direction_range_needs_a_band_and_a_band_needs_range(goals_tenant: Tenant) -> None:
    no_band = ACME.read_text().replace(
        "    direction: increase\n    unit_of_measure: score\n    target: 4.5\n",
        "    direction: range\n    unit_of_measure: score\n    target: 4.5\n",
    )
    resp = await goals_tenant.apply(no_band)
    assert resp.status_code == 422, resp.text
    assert "direction: range needs a target band" in resp.text
    band_only = ACME.read_text().replace("    target: 4.5\n", "    target: {min: 4, max: 5}\n")
    resp = await goals_tenant.apply(band_only)
    assert resp.status_code == 422, resp.text
    assert "needs direction: range" in resp.text
    both = band_only.replace(
        "    direction: increase\n    unit_of_measure: score\n    target: {min",
        "    direction: range\n    unit_of_measure: score\n    target: {min",
    )
    assert (await goals_tenant.apply(both)).status_code == 200


async def test_a_shadow_route_applies_and_round_trips(acme: Tenant) -> None:
    doc = load()
    shadow = {"match": {"unit": "sales"}, "notify": ["morgan"], "mode": "shadow"}
    doc["alerts"]["routes"].insert(0, shadow)
    applied = await acme.apply(orjson.dumps(doc), **{"Content-Type": "application/json"})
    assert applied.status_code == 200, applied.text
    got = (await acme.get("/v1/strategy")).json()
    assert got["alerts"]["routes"][0] == shadow
    assert "mode" not in got["alerts"]["routes"][1]  # a live route stays as it was written
    again = await acme.apply(ACME.read_bytes())  # and acme, unchanged, takes it away again
    assert [c["node_type"] for c in again.json()["changes"]].count("alert_route") == 4
