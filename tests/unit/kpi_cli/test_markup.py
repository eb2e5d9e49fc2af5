"""Issue 14, point 2: text from the services and the user is never read as Rich markup. A KPI
titled `New customers [/]` crashed `kpi apply`, `kpi cascade` and `kpi scorecard`;
`New customers [count]` lost its brackets; errors lost their regular expressions."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kpi_cli.console import out
from kpi_cli.evaluator import render, status_table
from kpi_cli.goals import _print_changes, cascade_tree
from kpi_cli.main import app
from typer.testing import CliRunner

ACME = Path(__file__).parents[3] / "examples" / "acme" / "strategy.yaml"
TITLES = ("New customers [/]", "New customers [count]", "Deals [bold]won :rocket:")


@pytest.fixture(autouse=True)
def wide() -> Iterator[None]:
    width, out.width = out.width, 200
    yield
    out.width = width


def printed(renderable: Any) -> str:
    """As `kpi` prints it, on its console."""
    with out.capture() as cap:
        out.print(renderable)
    return cap.get()


def kpi_node(title: str) -> dict[str, Any]:
    node = {"node_type": "kpi", "id": "new-customers", "title": title, "owner": "bea [x]"}
    return {**node, "children": []}


def test_cascade_prints_titles_as_they_are() -> None:
    for title in TITLES:
        body = {
            "organization": {"name": "Acme [/]", "vision": "[red]"},
            "goals": [{**kpi_node(title), "node_type": "goal", "children": [kpi_node(title)]}],
            "unlinked": [kpi_node(title)],
        }
        text = printed(cascade_tree(body))
        assert text.count(title) == 3
        assert "Acme [/]  [red]" in text
        assert "(bea [x])" in text


def test_scorecard_and_status_print_titles_as_they_are() -> None:
    for title in TITLES:
        kpi = {"type": "kpi", "id": "k", "title": title, "status": "at_risk", "period": "[/]"}
        card = {"unit": "[b]", "goals": [{"type": "goal", "title": title, "children": [kpi]}]}
        text = printed(render(card))
        assert text.count(title) == 2
        assert "Scorecard [b]" in text
        assert "(k, [/])" in text
    row = printed(status_table({"kpi_id": "k [/]", "period": "2026-Q1", "status": "on_track"}))
    assert "k [/]" in row


def test_apply_prints_changed_titles_as_they_are() -> None:
    change = {"action": "update", "node_type": "kpi", "node_id": "new-customers", "revision": 2}
    fields = {"title": {"before": "New customers", "after": "New customers [/]"}}
    body = {"dry_run": False, "created": 0, "updated": 1, "deleted": 0}
    with out.capture() as cap:
        _print_changes({**body, "changes": [{**change, "fields": fields}]})
    assert "title: 'New customers' -> 'New customers [/]'" in cap.get()


def test_an_error_message_keeps_its_brackets() -> None:
    plant = "x=^[a-z]{1,62}$ [/]"
    result = CliRunner().invoke(
        app, ["simulate", "-f", str(ACME), "--plant", plant], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1
    assert f"error: --plant {plant}: the plant must be one of" in result.output
