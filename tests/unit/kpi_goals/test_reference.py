"""docs/strategy-reference.md is exactly what `python -m kpi_goals.reference` renders from the
JSON Schema that GET /v1/strategy/schema serves: regenerate with `make docs`."""

import asyncio
import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from kpi_goals import api, reference

REPO = Path(__file__).parents[3]
PAGE = REPO / "docs" / "strategy-reference.md"
EXAMPLE = REPO / "examples" / "acme" / "strategy.yaml"


def _example() -> Any:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def test_the_committed_reference_is_the_generators_output() -> None:
    expected = reference.render(reference.document_schema(), _example())
    assert PAGE.read_text(encoding="utf-8") == expected, "stale: run `make docs`"


def test_the_generator_renders_the_schema_the_api_serves() -> None:
    assert asyncio.run(api.strategy_schema()) == reference.document_schema()


def test_every_field_of_every_definition_has_a_row_in_its_section() -> None:
    schema = reference.document_schema()
    page = reference.render(schema, _example())
    sections = dict(re.findall(r'<a id="([a-z]+)"></a>\n(.*?)(?=<a id=|\Z)', page, re.S))
    for name, definition in {**schema["$defs"], "StrategyDocument": schema}.items():
        section = sections[name.lower()]
        for field in definition["properties"]:
            assert f"\n| `{field}` |" in section, f"{name}.{field}"


def test_a_field_without_a_description_is_refused() -> None:
    schema = copy.deepcopy(reference.document_schema())
    schema["$defs"]["Kpi"]["properties"]["novelty"] = {"type": "string"}
    with pytest.raises(reference.Undescribed, match=r"Kpi\.novelty"):
        reference.render(schema)


def test_the_page_shows_types_defaults_and_allowed_values() -> None:
    page = reference.render(reference.document_schema())
    row = '| `direction` | string | no | `"increase"` | `increase`, `decrease`, `range` |'
    assert row in page
    assert "| `organization` | [Organization](#organization) | yes |" in page
    assert "| `at_risk_below` | number | no | - | > 0; <= 1 |" in page


def test_main_prints_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert reference.main(["--example", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == reference.render(reference.document_schema(), _example())
