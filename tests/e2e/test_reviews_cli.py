"""`kpi reviews` and `kpi review-pack` against the four services and the web view as
processes, with the acme tenant and a simulated quarter: the review cycles as the notifier
has them, and a review's pack downloaded as a PDF (read with poppler-utils as a person would
read it) and as one self-contained HTML file."""

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Infra, _psql, _with_database
from tests.e2e.conftest import kpi
from tests.support.acme_stack import WebStack, running_web_stack, wait_until
from tests.support.strategy_events import load

pytestmark = pytest.mark.e2e
QBR = "quarterly-business-review"


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    name = "kpi_reviews_cli_e2e"  # a database of this module's own: the slug acme is taken once
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    env = {
        "KPI_DATABASE_URL": _with_database(infra.admin_database_url, name),
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": f"{infra.topic_prefix}reviewscli.",
        "KPI_LOG_LEVEL": "INFO",
    }
    try:
        with running_web_stack(env, tmp_path_factory.mktemp("logs"), load()) as running:
            yield running
    finally:
        _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cli(stack: WebStack) -> dict[str, str]:
    return {
        "KPI_NOTIFIER_URL": stack.tenant.urls["notifier"],
        "KPI_WEB_URL": stack.url,
        "KPI_API_KEY": stack.viewer,
    }


def test_kpi_reviews_lists_each_review_cycle_of_the_strategy(stack: WebStack) -> None:
    listed = wait_until("the notifier to know the reviews", lambda: _reviews(stack))

    rows = {cells[0]: cells[1:] for cells in _table(listed)}
    # acme's reviews are due at their `next` of early 2026 until recorded as held: overdue now
    assert rows[QBR][:4] == ["acme", "quarterly", "2026-03-31", "2025-12-31"]
    assert rows["sales-pipeline-review"][:4] == ["sales", "monthly", "2026-01-30", "2025-12-30"]
    assert all(re.fullmatch(r"\d+ day\(s\)", r[4]) for r in rows.values()), rows
    assert len(rows) == 2


def _table(output: str) -> list[list[str]]:
    """The body rows of a rich table, as stripped cells."""
    return [
        [cell.strip() for cell in line.strip("│ ").split("│")]
        for line in output.splitlines()
        if line.startswith("│")
    ]


def _reviews(stack: WebStack) -> str | None:
    done = kpi(cli(stack), "reviews")
    assert done.returncode == 0, done.stderr
    return done.stdout if QBR in done.stdout else None


def test_kpi_review_pack_writes_a_pdf_a_person_can_read(stack: WebStack, tmp_path: Path) -> None:
    wait_until("the notifier to know the reviews", lambda: _reviews(stack))
    pdf = tmp_path / "pack.pdf"
    done = kpi(cli(stack), "review-pack", QBR, "-o", str(pdf))

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{pdf}: {QBR}'s review pack, ")
    info = _poppler("pdfinfo", str(pdf))
    assert "595.276 x 841.89 pts (A4)" in info
    assert int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))
    text = " ".join(_poppler("pdftotext", str(pdf), "-").split())
    assert f"Review pack: {QBR}" in text
    assert "New client acquisitions: ✖ Off track" in text  # planted as a breach
    assert "Operating cash flow: ✖ Off track" in text
    assert "Breaches and acknowledgements since" in text


def test_kpi_review_pack_writes_html_that_stands_alone(stack: WebStack, tmp_path: Path) -> None:
    wait_until("the notifier to know the reviews", lambda: _reviews(stack))
    page = tmp_path / "pack.html"
    done = kpi(cli(stack), "review-pack", QBR, "-o", str(page))

    assert done.returncode == 0, done.stderr
    html = page.read_text()
    assert f"<title>Review pack: {QBR}" in html
    assert '<article class="kpi-file" data-kpi="new-clients">' in html
    assert '<article class="kpi-file" data-kpi="cash-flow">' in html
    assert '<tr data-kpi="csat">' in html  # every KPI of the organisation is in the scorecard
    assert "<style>" in html
    for external in ('<link rel="stylesheet"', "<script", 'src="http', 'href="http'):
        assert external not in html


def test_kpi_review_pack_of_an_unknown_review_says_what_to_run(
    stack: WebStack, tmp_path: Path
) -> None:
    done = kpi(cli(stack), "review-pack", "no-such-review", "-o", str(tmp_path / "x.pdf"))

    assert done.returncode != 0
    assert "no review 'no-such-review': `kpi reviews` lists the review cycles" in done.stderr
    assert not (tmp_path / "x.pdf").exists()


def _poppler(*command: str) -> str:
    assert shutil.which(command[0]), f"{command[0]} missing: make bootstrap installs poppler-utils"
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout
