"""The README keeps its two commands first and lists every Make target and every environment
variable the code reads, so a new setting or target cannot go undocumented."""

import re
from pathlib import Path

import pytest
from kpi_cli.client import CliSettings
from kpi_common.settings import ServiceSettings
from kpi_evaluator.config import Settings as EvaluatorSettings
from kpi_goals.config import Settings as GoalsSettings
from kpi_ingest.config import Settings as IngestSettings
from kpi_notifier.config import Settings as NotifierSettings
from pydantic_settings import BaseSettings

REPO = Path(__file__).parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
SETTINGS: list[type[BaseSettings]] = [
    ServiceSettings,
    GoalsSettings,
    IngestSettings,
    EvaluatorSettings,
    NotifierSettings,
    CliSettings,
]
# Read with os.environ outside the settings classes (local stack, image healthcheck).
RAW_READERS = ["deploy/local/src/kpi_localinfra", "deploy/docker"]


def _variables(settings: type[BaseSettings]) -> list[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    return [
        field.validation_alias
        if isinstance(field.validation_alias, str)
        else f"{prefix}{name}".upper()
        for name, field in settings.model_fields.items()
    ]


def test_the_readme_starts_with_the_two_commands() -> None:
    block = README.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert [line.split()[:2] for line in block] == [["make", "demo"], ["make", "test"]]
    assert README.index("make demo") < README.index("## ")


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.__module__)
def test_every_setting_is_in_the_readme(settings: type[BaseSettings]) -> None:
    missing = [v for v in _variables(settings) if f"`{v}`" not in README]
    assert not missing


def test_every_variable_read_from_the_environment_is_in_the_readme() -> None:
    found: set[str] = set()
    for folder in RAW_READERS:
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and (path.suffix in {".py", ".sh"} or "Dockerfile" in path.name):
                found |= set(re.findall(r"\bKPI_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    assert found, "no variable found: the folders moved?"
    assert not [v for v in sorted(found) if v not in README]


def test_every_make_target_is_in_the_readme() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"^([a-z][a-z-]*):", makefile, re.M)
    assert "demo" in targets
    assert not [t for t in targets if f"`make {t}`" not in README]
