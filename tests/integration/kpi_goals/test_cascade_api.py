"""GET /v1/cascade, /v1/cascade/chains and the paginated resource reads."""

from tests.integration.kpi_goals.conftest import Tenant


async def test_the_tree_has_the_goals_on_top_and_kpis_beneath(acme: Tenant) -> None:
    body = (await acme.get("/v1/cascade")).json()
    assert body["organization"]["name"] == "Acme Corp"
    assert [g["id"] for g in body["goals"]] == [
        "grow-revenue",
        "raise-profitability",
        "keep-customers",
        "engaged-people",
    ]
    grow = body["goals"][0]
    assert [c["id"] for c in grow["children"]] == [
        "win-new-clients",
        "collect-faster",
        "revenue",
        "revenue-emea",
        "revenue-amer",
    ]
    assert body["unlinked"] == []


async def test_a_kpi_so_that_chain_leads_up_to_the_goals(acme: Tenant) -> None:
    body = (await acme.get("/v1/cascade?kpi=bounce-rate")).json()
    assert [[n["id"] for n in chain] for chain in body["chains"]] == [
        ["bounce-rate", "engaging-website", "generate-leads", "win-new-clients", "grow-revenue"]
    ]
    ar = (await acme.get("/v1/cascade?kpi=ar-days")).json()["chains"]
    assert {chain[-1]["id"] for chain in ar} == {"grow-revenue", "raise-profitability"}
    assert (await acme.get("/v1/cascade?kpi=nope")).status_code == 404


async def test_the_chains_of_several_kpis_come_in_one_answer_as_one_by_one(acme: Tenant) -> None:
    body = (await acme.get("/v1/cascade/chains?kpi=ar-days&kpi=bounce-rate&kpi=ar-days")).json()
    one = [(await acme.get(f"/v1/cascade?kpi={k}")).json() for k in ("ar-days", "bounce-rate")]
    assert body == {"kpis": one}  # in the order asked, each once
    unknown = await acme.get("/v1/cascade/chains?kpi=bounce-rate&kpi=nope")
    assert unknown.status_code == 404
    assert "nope" in unknown.json()["error"]["message"]
    assert (await acme.get("/v1/cascade/chains")).status_code == 422


async def test_the_histories_of_several_kpis_come_in_one_answer_as_one_by_one(
    acme: Tenant,
) -> None:
    body = (await acme.get("/v1/history?kpi=ar-days&kpi=bounce-rate")).json()
    one = [(await acme.get(f"/v1/kpis/{k}/history")).json() for k in ("ar-days", "bounce-rate")]
    assert body == {"kpis": one}
    unknown = await acme.get("/v1/history?kpi=bounce-rate&kpi=nope")
    assert unknown.status_code == 404
    assert "nope" in unknown.json()["error"]["message"]


async def test_lists_are_paginated(acme: Tenant) -> None:
    seen: list[str] = []
    after = ""
    while True:
        page = (await acme.get(f"/v1/kpis?limit=5{after}")).json()
        seen += [item["id"] for item in page["items"]]
        if page["next_after"] is None:
            break
        after = f"&after={page['next_after']}"
    assert len(seen) == 14
    assert seen == sorted(seen)
    for path in ("units", "people", "goals", "objectives", "success-factors", "reviews"):
        items = (await acme.get(f"/v1/{path}")).json()["items"]
        assert items
        assert all(i["revision"] == 1 for i in items)
    person = (await acme.get("/v1/people/dana")).json()
    assert person["definition"]["email"] == "dana@acme.example"


async def test_a_nul_character_in_a_cursor_or_id_is_the_callers_error(acme: Tenant) -> None:
    # found by schemathesis: PostgreSQL cannot hold NUL in text, and it answered 500
    for path in ("/v1/objectives?after=%00", "/v1/objectives/a%00b"):
        r = await acme.get(path)
        assert r.status_code == 422, path
        assert "NUL" in r.json()["error"]["message"]
