"""The pages rendered from canned answers of the real services: what they contain, the
headers they carry, and how sign-in works."""

import re

import httpx

from tests.unit.kpi_web.conftest import VIEWER, Upstream, sign_in


async def test_a_page_without_login_sends_to_the_login(client: httpx.AsyncClient) -> None:
    answer = await client.get("/map")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/map"


async def test_signing_in_sets_a_strict_httponly_cookie_without_the_key(
    client: httpx.AsyncClient,
) -> None:
    answer = await sign_in(client)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/map"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    assert VIEWER not in cookie
    page = await client.get("/map")
    assert page.status_code == 200
    assert VIEWER not in page.text


async def test_a_refused_key_shows_why_and_sets_no_cookie(client: httpx.AsyncClient) -> None:
    answer = await sign_in(client, "kpi_wrong")
    assert answer.status_code == 401
    assert "not accepted" in answer.text
    assert "set-cookie" not in answer.headers
    assert "kpi_wrong" not in answer.text


async def test_sign_in_goes_back_only_to_a_local_path(client: httpx.AsyncClient) -> None:
    answer = await client.post("/login", data={"key": VIEWER, "next": "//evil.example/x"})
    assert answer.headers["location"] == "/map"


async def test_the_map_shows_every_node_with_status_words_and_links(
    client: httpx.AsyncClient, upstream: Upstream
) -> None:
    await sign_in(client)
    page = (await client.get("/map")).text
    strategy = upstream.routes[("goals.test", "/v1/strategy")]
    for section in ("goals", "objectives", "success_factors", "kpis"):
        for entry in strategy[section]:
            assert f'data-id="{entry["id"]}"' in page
    assert 'data-from="new-clients" data-to="strong-pipeline"' in page
    assert 'data-from="win-new-clients" data-to="grow-revenue"' in page
    node = re.search(r'<g class="node[^"]*" data-id="new-clients" data-status="(\w+)"', page)
    assert node is not None
    assert node.group(1) == "off_track"
    assert "Off track" in page


async def test_every_page_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    for path in ("/login", "/map", "/units", "/units/sales", "/static/web.css"):
        answer = await client.get(path)
        assert answer.status_code == 200, path
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["x-content-type-options"] == "nosniff"


async def test_the_scorecard_groups_kpis_by_perspective(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    page = (await client.get("/units/sales")).text
    headings = re.findall(r'<h2 id="p-\d+">([^<]+)<', page)
    assert [h.strip() for h in headings] == ["Financial", "Customer"]
    assert 'data-kpi="revenue-emea"' in page
    assert 'data-kpi="new-clients"' in page


async def test_an_unknown_unit_is_a_404_page(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    answer = await client.get("/units/nowhere")
    assert answer.status_code == 404
    assert "<h1>Not found</h1>" in answer.text


async def test_signing_out_forgets_the_login(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    await client.post("/logout")
    assert (await client.get("/map")).status_code == 303


MARKUP = "<script>alert(1)</script> & <b>x</b>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;x&lt;/b&gt;"


async def test_every_page_escapes_titles(client: httpx.AsyncClient, upstream: Upstream) -> None:
    """Markup in a title (from goals' document and the evaluator's scorecard) is text."""
    strategy = upstream.routes[("goals.test", "/v1/strategy")]
    strategy["goals"][0]["title"] = MARKUP
    next(k for k in strategy["kpis"] if k["id"] == "new-clients")["title"] = MARKUP
    card = upstream.routes[("evaluator.test", "/v1/scorecard")]
    next(k for k in card["kpis"] if k["id"] == "new-clients")["title"] = MARKUP
    node = upstream.routes[("goals.test", "/v1/kpis/new-clients")]
    node["definition"]["title"] = MARKUP
    await sign_in(client)
    for path in ("/map", "/units", "/kpis/new-clients"):
        page = (await client.get(path)).text
        assert "<script>" not in page, path
        assert "<b>x" not in page, path
    assert ESCAPED in (await client.get("/map")).text
    assert ESCAPED in (await client.get("/kpis/new-clients")).text
