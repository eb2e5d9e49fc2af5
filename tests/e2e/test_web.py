"""The web view as a person sees it: the four services and the web view run as processes
with the acme tenant (one KPI and one goal titled with markup) and a simulated quarter of
traffic; a viewer signs in through the form and every page is rendered in headless Chromium.
Nothing may fail in the console, no request may leave the machine, and the markup shows as
text."""

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.conftest import Infra, _psql, _with_database
from tests.support.acme_stack import WebStack, running_web_stack
from tests.support.browser import Watch, watched_page
from tests.support.strategy_events import ACME

pytestmark = pytest.mark.e2e

MARKUP = "<script>alert(1)</script> & <b>x</b>"
OFF_TRACK_RED = "rgb(192, 38, 45)"  # --off_track in web.css


def marked_up_strategy() -> dict[str, Any]:
    """The acme document with the title of KPI new-clients and goal keep-customers in markup."""
    doc: dict[str, Any] = yaml.safe_load(ACME.read_text())
    next(k for k in doc["kpis"] if k["id"] == "new-clients")["title"] = MARKUP
    next(g for g in doc["goals"] if g["id"] == "keep-customers")["title"] = MARKUP
    return doc


@pytest.fixture(scope="module")
def database_url(infra: Infra) -> Iterator[str]:
    """A database of this module's own: the acme tenant's slug is taken once per database."""
    name = "kpi_web_e2e"
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def stack(
    infra: Infra, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebStack]:
    env = {
        "KPI_DATABASE_URL": database_url,
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": f"{infra.topic_prefix}web.",
        "KPI_LOG_LEVEL": "INFO",
    }
    logs: Path = tmp_path_factory.mktemp("web-logs")
    with running_web_stack(env, logs, marked_up_strategy()) as stack:
        yield stack


def sign_in(page: Page, stack: WebStack, key: str) -> None:
    page.goto(f"{stack.url}/map")
    expect(page).to_have_url(f"{stack.url}/login?next=/map")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def assert_clean(watch: Watch) -> None:
    assert watch.console_errors == []
    assert watch.page_errors == []
    assert watch.dialogs == []
    assert watch.external == []
    assert watch.requests, "the request guard saw nothing: is it installed?"


def test_the_strategy_map_shows_every_node_with_status_score_and_links(stack: WebStack) -> None:
    with watched_page() as (page, watch):
        sign_in(page, stack, stack.viewer)
        expect(page).to_have_url(f"{stack.url}/map")
        expect(page).to_have_title("Strategy map · kpi-cascade")
        doc = stack.doc
        sections = ("goals", "objectives", "success_factors", "kpis")
        ids = [e["id"] for s in sections for e in doc[s]]
        expect(page.locator("svg.map g.node")).to_have_count(len(ids))
        links = sum(
            len(_as_list(e.get("supports") or e.get("so_that"))) for s in sections for e in doc[s]
        )
        expect(page.locator("svg.map path.link")).to_have_count(links)
        node = page.locator('svg.map g.node[data-id="new-clients"]')
        expect(node).to_have_attribute("data-status", "off_track")
        expect(node.locator("text.st")).to_have_text("Off track")  # the word, not only colour
        assert node.locator("rect").evaluate("e => getComputedStyle(e).stroke") == OFF_TRACK_RED
        expect(node.locator("text.score")).to_have_text(re.compile(r"^\d+%$"))
        expect(page.locator('svg.map [role="img"][aria-label^="Goal: "]')).to_have_count(
            len(doc["goals"])
        )
        for path in ("/units", "/units/sales"):
            page.goto(f"{stack.url}{path}")
            expect(page.locator("h1")).to_be_visible()
        expect(page.locator("section.perspective h2").first).to_contain_text("Financial")
        assert_clean(watch)


def test_the_kpi_page_shows_its_chart_breaches_and_target_history(stack: WebStack) -> None:
    with watched_page() as (page, watch):
        sign_in(page, stack, stack.viewer)
        page.goto(f"{stack.url}/kpis/new-clients")
        pace, periods = page.locator("svg.chart.pace"), page.locator("svg.chart.periods")
        expect(pace).to_be_visible()
        expect(pace.locator("line.now")).to_have_count(1)
        expect(pace.locator("path.expected")).to_have_count(1)
        expect(pace.locator('g[data-status="off_track"]')).to_have_count(1)
        expect(periods).to_be_visible()
        expect(periods.locator("path.target")).to_have_count(1)
        expect(periods.locator("g[data-status]").first).to_be_visible()
        expect(page.locator("tr[data-breach]").first).to_contain_text("critical")
        expect(page.locator("tr[data-revision]").first).to_contain_text("target")
        assert periods.get_attribute("aria-labelledby") == "chart-title chart-desc"
        assert pace.get_attribute("aria-labelledby") == "pace-title pace-desc"
        assert_clean(watch)


def test_a_title_with_markup_shows_as_text(stack: WebStack) -> None:
    with watched_page() as (page, watch):
        sign_in(page, stack, stack.viewer)
        page.goto(f"{stack.url}/kpis/new-clients")
        expect(page.locator("h1")).to_have_text(f"KPI: {MARKUP}")
        expect(page.locator("h1 b")).to_have_count(0)
        expect(page.locator("script")).to_have_count(0)
        page.goto(f"{stack.url}/map")
        for node in ("new-clients", "keep-customers"):  # a KPI and a goal
            expect(page.locator(f'tr[data-id="{node}"] td').nth(1)).to_have_text(MARKUP)
        label = page.locator('svg.map [aria-label^="Goal: <script>"]')
        expect(label).to_have_attribute("aria-label", re.compile(re.escape(MARKUP)))
        expect(page.locator("main b")).to_have_count(0)
        assert_clean(watch)  # no alert dialog


def test_an_ingest_key_is_refused_with_a_reason(stack: WebStack) -> None:
    with watched_page() as (page, watch):
        sign_in(page, stack, stack.tenant.ingest)
        expect(page.get_by_role("alert")).to_contain_text("cannot read the strategy")
        assert stack.tenant.ingest not in page.content()
        # the refused sign-in answers 403, which Chromium reports as the document's status
        refused = [e for e in watch.console_errors if "status of 403 (Forbidden)" in e]
        assert len(refused) == 1
        watch.console_errors.remove(refused[0])
        assert_clean(watch)


def test_the_review_pack_stands_alone_shows_markup_as_text_and_prints(
    stack: WebStack, tmp_path: Path
) -> None:
    pack = f"{stack.url}/reviews/quarterly-business-review/pack"
    with watched_page() as (page, watch):
        sign_in(page, stack, stack.viewer)
        page.goto(f"{stack.url}/reviews")
        expect(page.locator('tr[data-review="quarterly-business-review"]')).to_contain_text("PDF")
        page.goto(pack)
        expect(page).to_have_title(re.compile(r"^Review pack: quarterly-business-review"))
        card = page.locator('article.kpi-file[data-kpi="new-clients"]')
        expect(card.locator("h3")).to_contain_text(f"{MARKUP}: ✖ Off track")
        expect(card.locator("svg.chart path.target")).to_have_count(1)
        expect(page.locator("main b")).to_have_count(0)
        word = card.locator("h3 .st")  # the inline stylesheet applies under the pack's CSP
        assert word.evaluate("e => getComputedStyle(e).color") == OFF_TRACK_RED
        assert_clean(watch)
    bearer = {"Authorization": f"Bearer {stack.viewer}"}
    answer = httpx.get(f"{pack}.pdf", headers=bearer, timeout=120)  # WeasyPrint takes seconds
    assert answer.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "qbr.pdf"
    pdf.write_bytes(answer.content)
    text = " ".join(_poppler("pdftotext", str(pdf), "-").split())
    assert f"{MARKUP}: ✖ Off track" in text
    _poppler("pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p"))
    assert (tmp_path / "p-1.png").stat().st_size > 10_000


def _poppler(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def test_the_guard_refuses_a_request_that_leaves_the_machine() -> None:
    """The check of the tests above can fail: a page that reaches out is caught."""
    with watched_page() as (page, watch):
        with pytest.raises(Exception, match="net::ERR_FAILED"):
            page.goto("http://example.com/")
        assert watch.external == ["http://example.com/"]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
