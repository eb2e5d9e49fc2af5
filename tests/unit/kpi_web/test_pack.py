"""The review pack from canned answers: the sales pipeline review's scorecard, the KPI off
track with its so-that chain and chart, the breach since the review before, the target
change with who and why, the unit's findings only; as a page, an HTML file and a PDF."""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.unit.kpi_web.conftest import VIEWER, Upstream, answer, sign_in

PACK = "/reviews/sales-pipeline-review/pack"


@pytest.fixture
def upstream() -> Upstream:
    """The conftest's answers, plus reviews, findings, and each sales KPI's series, history
    and chains (only new-clients has any)."""
    up = PackUpstream()
    up.routes[("notifier.test", "/v1/reviews")] = answer("reviews")
    up.routes[("goals.test", "/v1/alignment")] = answer("alignment")
    up.routes[("evaluator.test", "/v1/data-health")] = answer("data-health")
    for kpi in ("revenue-amer", "revenue-emea"):
        up.routes[("evaluator.test", f"/v1/kpis/{kpi}/series")] = {"kpi_id": kpi, "points": []}
        up.routes[("goals.test", f"/v1/kpis/{kpi}/history")] = {"kpi_id": kpi, "history": []}
    return up


class PackUpstream(Upstream):
    """Goals' chains and histories and the evaluator's series of several KPIs in one answer,
    from the canned answers of each (only new-clients has chains)."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        asked = request.url.params.get_list("kpi")
        if request.url.path == "/v1/cascade/chains":
            self.seen.append(request)
            return httpx.Response(200, json={"kpis": [self._chains(k) for k in asked]})
        many = {
            "/v1/history": ("goals.test", "history"),
            "/v1/series": ("evaluator.test", "series"),
        }
        if request.url.path in many:
            self.seen.append(request)
            host, part = many[request.url.path]
            found = [self.routes[(host, f"/v1/kpis/{k}/{part}")] for k in asked]
            return httpx.Response(200, json={"kpis": found})
        return super().__call__(request)

    @staticmethod
    def _chains(kpi: str) -> Any:
        return (
            answer("cascade-new-clients") if kpi == "new-clients" else {"kpi_id": kpi, "chains": []}
        )


async def test_the_pack_sets_out_the_review_s_unit_since_the_review_before(
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client)
    page = await client.get(PACK)
    assert page.status_code == 200, page.text
    text = page.text
    assert "<h1>Review pack: Sales &lt;b&gt;pipeline&lt;/b&gt; &amp; review</h1>" in text
    assert "Looks back to</dt><dd>2026-11-30 (last held 2026-11-30)" in text
    assert '<tr data-kpi="new-clients">' in text
    assert '<tr data-kpi="revenue-emea">' in text
    assert '<article class="kpi-file" data-kpi="new-clients">' in text  # off track
    assert 'class="kpi-file" data-kpi="revenue-emea"' not in text  # on track
    assert "Acquire 50 new clients each quarter" in text  # its so-that chain
    assert '<path class="target"' in text
    assert 'data-breach="cf86c932-039e-56d4-b1b9-b5b9624a25c4"' in text
    assert "target: – → 50" in text
    assert "KPI new-clients has no review date" in text  # a finding of the unit's KPI
    assert "support-nps" not in text  # another unit's
    assert "No crm.deal.won event for 3 days" in text  # concerns new-clients
    assert "cash-runway" not in text


async def test_the_pack_reads_each_thing_once_and_chains_only_of_the_kpis_it_sets_out(
    client: httpx.AsyncClient, upstream: Upstream
) -> None:
    await sign_in(client)
    upstream.seen.clear()
    assert (await client.get(PACK)).status_code == 200
    reads = [(r.url.host, r.url.path) for r in upstream.seen]
    asked = {r.url.path: r.url.params.get_list("kpi") for r in upstream.seen}
    assert asked["/v1/cascade/chains"] == ["new-clients"]  # the one off track, only
    assert sorted(asked["/v1/history"]) == ["new-clients", "revenue-amer", "revenue-emea"]
    assert sorted(asked["/v1/series"]) == ["new-clients", "revenue-amer", "revenue-emea"]
    assert ("notifier.test", "/v1/breaches") in reads  # the breaches, all in one read
    assert sorted(set(reads)) == sorted(reads)  # nothing read twice
    # the reviews, strategy, scorecard, 2 findings, the series, the histories, the chains of
    # the KPIs set out and the one breach the series name
    assert len(reads) == 9


async def test_the_pack_stands_alone_under_a_policy_that_allows_nothing_external(
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client)
    page = await client.get(PACK, params={"download": "1"})
    policy = page.headers["content-security-policy"]
    assert "style-src 'sha256-" in policy
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["content-disposition"] == (
        'attachment; filename="sales-pipeline-review-2026-12-30.html"'
    )
    for external in ('<link rel="stylesheet"', "<script", 'src="http', 'href="http'):
        assert external not in page.text


async def test_a_key_sent_as_bearer_reads_the_pack_without_signing_in(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get(PACK, headers={"Authorization": f"Bearer {VIEWER}"})
    assert page.status_code == 200
    refused = await client.get(PACK, headers={"Authorization": "Bearer not-a-key"})
    assert refused.status_code == 303  # to the login page, as with no key


async def test_an_unknown_review_is_a_404_page(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    assert (await client.get("/reviews/no-such-review/pack")).status_code == 404


async def test_the_reviews_page_links_each_review_s_pack(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    text = (await client.get("/reviews")).text
    assert 'href="/reviews/sales-pipeline-review/pack.pdf"' in text
    assert "Sales &lt;b&gt;pipeline&lt;/b&gt; &amp; review" in text


async def test_the_pdf_shows_the_same_pack_on_a4_pages(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await sign_in(client)
    answer = await client.get(f"{PACK}.pdf")
    assert answer.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "pack.pdf"
    pdf.write_bytes(answer.content)
    _read_like_a_person(pdf, tmp_path)


def _read_like_a_person(pdf: Path, tmp_path: Path) -> None:
    """The PDF's text, page size and first page as an image (poppler-utils)."""
    text = " ".join(_run("pdftotext", str(pdf), "-").split())
    assert "Review pack: Sales <b>pipeline</b> & review" in text
    assert "New client acquisitions" in text
    assert "Off track" in text
    assert "Acquire 50 new clients each quarter" in text
    assert "No crm.deal.won event for 3 days" in text
    info = _run("pdfinfo", str(pdf))
    assert "595.276 x 841.89 pts (A4)" in info
    _run("pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p"))
    png = next(tmp_path.glob("p*.png"))
    assert png.stat().st_size > 10_000  # a rendered page, not a blank one


def _run(*command: Any) -> str:
    assert shutil.which(command[0]), f"{command[0]} missing: make bootstrap installs poppler-utils"
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout
