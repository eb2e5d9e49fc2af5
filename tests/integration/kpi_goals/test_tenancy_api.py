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


async def _key_ids(tenant: Tenant, key: str | None = None) -> dict[str, dict[str, object]]:
    return {k["key_id"]: k for k in (await tenant.get("/v1/api-keys", key)).json()["items"]}


async def test_revoking_the_last_admin_key_or_ones_own_needs_force(goals_tenant: Tenant) -> None:
    http, (own,) = goals_tenant.goals.http, await _key_ids(goals_tenant)
    refused = await http.delete(f"/v1/api-keys/{own}", headers=goals_tenant.auth())
    assert refused.status_code == 409
    message = refused.json()["error"]["message"]
    assert "key making this call" in message
    assert "last admin key" in message
    assert "force" in message
    assert (await goals_tenant.get("/v1/api-keys")).status_code == 200  # still works
    forced = await http.delete(f"/v1/api-keys/{own}?force=true", headers=goals_tenant.auth())
    assert forced.status_code == 200, forced.text
    assert (await goals_tenant.get("/v1/api-keys")).status_code == 401


async def test_revoking_another_admin_key_needs_no_force_while_one_remains(
    goals_tenant: Tenant,
) -> None:
    http = goals_tenant.goals.http
    second = await http.post("/v1/api-keys", json={"role": "admin"}, headers=goals_tenant.auth())
    other_id = second.json()["key_id"]
    ok = await http.delete(f"/v1/api-keys/{other_id}", headers=goals_tenant.auth())
    assert ok.status_code == 200, ok.text
    (own,) = [k for k, v in (await _key_ids(goals_tenant)).items() if not v["revoked"]]
    await http.post("/v1/api-keys", json={"role": "admin"}, headers=goals_tenant.auth())
    mine = await http.delete(f"/v1/api-keys/{own}", headers=goals_tenant.auth())
    assert mine.status_code == 409
    assert "key making this call" in mine.json()["error"]["message"]
    assert "last admin key" not in mine.json()["error"]["message"]


async def test_the_operator_issues_an_admin_key_to_a_tenant_without_one(
    goals_tenant: Tenant, unique: str
) -> None:
    http, (own,) = goals_tenant.goals.http, await _key_ids(goals_tenant)
    await http.delete(f"/v1/api-keys/{own}?force=true", headers=goals_tenant.auth())
    path = f"/v1/tenants/t-{unique}/admin-keys"
    assert (await http.post(path, headers=goals_tenant.auth())).status_code == 401
    issued = await http.post(
        path, json={"name": "locked out"}, headers={"Authorization": f"Bearer {OPERATOR}"}
    )
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["tenant_id"] == goals_tenant.tenant_id
    assert body["created_by"] == "operator"
    keys = await _key_ids(goals_tenant, body["admin_api_key"])
    assert keys[body["key_id"]]["created_by"] == "operator"
    assert keys[body["key_id"]]["created_at"] == body["created_at"]
    assert keys[own]["revoked_by"] == own
    assert keys[own]["revoked_at"] is not None
    by_id = await http.post(
        f"/v1/tenants/{goals_tenant.tenant_id}/admin-keys",
        headers={"Authorization": f"Bearer {OPERATOR}"},
    )
    assert by_id.status_code == 201
    unknown = await http.post(
        f"/v1/tenants/nobody-{unique}/admin-keys", headers={"Authorization": f"Bearer {OPERATOR}"}
    )
    assert unknown.status_code == 404
