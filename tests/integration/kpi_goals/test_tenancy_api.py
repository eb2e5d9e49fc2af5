"""Tenants, API keys and roles: isolation between tenants and each role's limits."""

import pytest

from tests.integration.kpi_goals.conftest import OPERATOR, Goals, Tenant
from tests.support.strategy_events import ACME


async def test_only_the_operator_token_creates_tenants(goals: Goals, unique: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        resp = await goals.http.post("/v1/tenants", json={"slug": f"x-{unique}"}, headers=headers)
        assert resp.status_code == 401
    ok = await goals.tenant(f"x-{unique}")
    assert ok.admin_key.startswith("kpi_")
    again = await goals.http.post(
        "/v1/tenants", json={"slug": f"x-{unique}"}, headers={"Authorization": f"Bearer {OPERATOR}"}
    )
    assert again.status_code == 409


async def test_two_tenants_cannot_see_each_other(goals: Goals, unique: str) -> None:
    a, b = await goals.tenant(f"a-{unique}"), await goals.tenant(f"b-{unique}")
    assert (await a.apply(ACME.read_bytes())).status_code == 200
    assert (await b.get("/v1/kpis/revenue")).status_code == 404
    assert (await b.get("/v1/kpis/revenue/history")).status_code == 404
    assert (await b.get("/v1/kpis")).json()["items"] == []
    assert (await b.get("/v1/strategy")).json()["kpis"] == []
    assert (await a.get("/v1/kpis/revenue")).status_code == 200
    a_keys = (await a.get("/v1/api-keys")).json()["items"]
    revoke = await goals.http.delete(f"/v1/api-keys/{a_keys[0]['key_id']}", headers=b.auth())
    assert revoke.status_code == 404


async def test_keys_are_shown_once_and_stored_hashed(acme: Tenant) -> None:
    key = await acme.key("viewer")
    listed = (await acme.get("/v1/api-keys")).json()["items"]
    assert key not in str(listed)
    assert {k["role"] for k in listed} == {"admin", "viewer"}
    assert (await acme.get("/v1/kpis", key)).status_code == 200


async def test_a_revoked_key_is_refused(acme: Tenant) -> None:
    resp = await acme.goals.http.post("/v1/api-keys", json={"role": "viewer"}, headers=acme.auth())
    key, key_id = resp.json()["api_key"], resp.json()["key_id"]
    assert (await acme.goals.http.delete(f"/v1/api-keys/{key_id}", headers=acme.auth())).json()[
        "revoked"
    ]
    assert (await acme.get("/v1/kpis", key)).status_code == 401


async def test_no_or_unknown_key_is_401(goals: Goals) -> None:
    assert (await goals.http.get("/v1/kpis")).status_code == 401
    bad = await goals.http.get("/v1/kpis", headers={"Authorization": "Bearer kpi_nope"})
    assert bad.status_code == 401


async def test_viewer_reads_but_cannot_apply_or_make_keys(acme: Tenant) -> None:
    viewer = await acme.key("viewer")
    assert (await acme.get("/v1/strategy", viewer)).status_code == 200
    assert (await acme.apply(ACME.read_bytes(), viewer)).status_code == 403
    assert (await acme.apply(ACME.read_bytes(), viewer, "?dry_run=true")).status_code == 403
    made = await acme.goals.http.post(
        "/v1/api-keys", json={"role": "admin"}, headers=acme.auth(viewer)
    )
    assert made.status_code == 403


@pytest.mark.parametrize("path", ["/v1/strategy", "/v1/kpis", "/v1/kpis/revenue", "/v1/units"])
async def test_ingest_keys_cannot_use_the_goals_api(acme: Tenant, path: str) -> None:
    ingest = await acme.key("ingest")
    assert (await acme.get(path, ingest)).status_code == 403
    assert (await acme.apply(ACME.read_bytes(), ingest)).status_code == 403


async def test_an_editor_changes_only_its_unit_subtree(acme: Tenant) -> None:
    editor = await acme.key("editor", unit="sales")
    inside = ACME.read_text().replace("    target: 7000000\n", "    target: 7500000\n")
    resp = await acme.apply(inside, editor)
    assert resp.status_code == 200, resp.text
    assert resp.json()["changes"][0]["node_id"] == "revenue-emea"
    outside = ACME.read_text().replace("    target: 9000000\n", "    target: 8000000\n")
    refused = await acme.apply(outside, editor)
    assert refused.status_code == 403
    assert "kpi operating-costs" in refused.json()["error"]["message"]
    moved = inside.replace("unit: sales-emea\n    owner: lars", "unit: finance\n    owner: lars")
    assert (await acme.apply(moved, editor)).status_code == 403
    assert (await acme.get("/v1/kpis/operating-costs")).json()["definition"]["target"] == 9000000


async def test_an_unscoped_editor_changes_anything_but_keys(acme: Tenant) -> None:
    editor = await acme.key("editor")
    edited = ACME.read_text().replace("    target: 9000000\n", "    target: 8000000\n")
    assert (await acme.apply(edited, editor)).status_code == 200
    made = await acme.goals.http.post(
        "/v1/api-keys", json={"role": "viewer"}, headers=acme.auth(editor)
    )
    assert made.status_code == 403


async def test_a_key_scope_must_name_a_unit_of_the_tenant(acme: Tenant) -> None:
    resp = await acme.goals.http.post(
        "/v1/api-keys", json={"role": "editor", "unit": "moon"}, headers=acme.auth()
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["errors"][0]["path"] == "unit"


async def test_an_editor_shapes_the_unit_tree_beneath_its_unit_only(acme: Tenant) -> None:
    editor = await acme.key("editor", unit="sales")
    team = "  - {id: sales-apac, name: Sales APAC, parent: sales}\n"
    anchor = "  - {id: finance, name: Finance, parent: acme}\n"
    grown = ACME.read_text().replace(anchor, team + anchor)
    resp = await acme.apply(grown, editor)
    assert resp.status_code == 200, resp.text
    assert [c["node_id"] for c in resp.json()["changes"]] == ["sales-apac"]
    renamed = grown.replace("name: Finance,", "name: Finance and Control,")
    assert (await acme.apply(renamed, editor)).status_code == 403
    moved = grown.replace(
        "{id: sales-apac, name: Sales APAC, parent: sales}",
        "{id: sales-apac, name: Sales APAC, parent: acme}",
    )
    assert (await acme.apply(moved, editor)).status_code == 403
    sf = grown.replace(
        "title: A pipeline strong enough to close 50 new clients a quarter",
        "title: A pipeline strong enough for 50 new clients a quarter",
    )
    assert (await acme.apply(sf, editor)).status_code == 200
