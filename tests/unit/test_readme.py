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
from kpi_web.config import Settings as WebSettings
from pydantic_settings import BaseSettings

REPO = Path(__file__).parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
SETTINGS: list[type[BaseSettings]] = [
    ServiceSettings,
    GoalsSettings,
    IngestSettings,
    EvaluatorSettings,
    NotifierSettings,
    WebSettings,
    CliSettings,
]
# Read outside the settings classes: the local stack, the image, compose, Grafana provisioning.
RAW_READERS = ["deploy/local/src/kpi_localinfra", "deploy/docker", "deploy/grafana/provisioning"]
FILES = {".py", ".sh", ".yaml", ".yml"}


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


def _raw_readers() -> list[Path]:
    paths = [REPO / "deploy" / "compose.yaml"]
    paths += [p for folder in RAW_READERS for p in (REPO / folder).rglob("*") if p.is_file()]
    return [p for p in paths if p.suffix in FILES or "Dockerfile" in p.name]


def test_every_variable_read_from_the_environment_is_in_the_readme() -> None:
    found: set[str] = set()
    for path in _raw_readers():
        found |= set(re.findall(r"\bKPI_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    assert "KPI_GRAFANA_DB_HOST" in found, "the folders moved?"
    assert not [v for v in sorted(found) if v not in README]


def test_every_make_target_is_in_the_readme() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"^([a-z][a-z-]*):", makefile, re.M)
    assert "demo" in targets
    assert not [t for t in targets if f"`make {t}`" not in README]
