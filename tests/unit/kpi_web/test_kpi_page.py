"""The KPI page from canned answers: now, the so-that chain, the chart, the periods, the
breaches with their acknowledgement, the target history; and without the notifier."""

import re

import httpx

from tests.unit.kpi_web.conftest import Upstream, sign_in


async def test_the_kpi_page_shows_where_it_stands_and_why_it_matters(
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client)
    page = (await client.get("/kpis/new-clients")).text
    assert "<h1>KPI: New client acquisitions</h1>" in page
    assert 'data-status="off_track"' in page
    assert "Acquire 50 new clients each quarter" in page  # the so-that chain, from goals
    assert '<svg class="chart pace"' in page  # the current period's pace
    assert '<path class="target"' in page
    assert '<path class="expected"' in page
    assert '<path class="forecast"' in page
    assert '<g transform="translate(' in page
    assert re.search(r'data-period="2026-Q4" data-status="off_track"', page)
    assert 'data-breach="cf86c932-039e-56d4-b1b9-b5b9624a25c4"' in page
    assert "critical" in page
    assert "not yet" in page  # not acknowledged
    assert "target: – → 50" in page


async def test_an_unknown_kpi_is_a_404_page(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    answer = await client.get("/kpis/no-such-kpi")
    assert answer.status_code == 404


async def test_without_the_notifier_the_page_says_so(
    client: httpx.AsyncClient, upstream: Upstream
) -> None:
    await sign_in(client)
    upstream.down.add("notifier.test")
    answer = await client.get("/kpis/new-clients")
    assert answer.status_code == 200
    assert "The notifier did not answer" in answer.text
    assert "<h1>KPI: New client acquisitions</h1>" in answer.text
