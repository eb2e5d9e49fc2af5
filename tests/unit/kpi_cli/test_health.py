"""`kpi health` checks the URLs the configuration names (KPI_*_URL, else the KPI_*_PORT that
`make up` used) and says where each came from; a default URL is never silently "yours"."""

import pytest
from kpi_cli.client import CliSettings, ExitCode
from kpi_cli.main import app
from kpi_localinfra.processes import free_ports
from typer.testing import CliRunner

VARS = [
    f"KPI_{p}_{k}" for p in ("GOALS", "INGEST", "EVALUATOR", "NOTIFIER") for k in ("URL", "PORT")
]


@pytest.fixture(autouse=True)
def _no_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in VARS:
        monkeypatch.delenv(var, raising=False)


def test_urls_follow_the_configured_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPI_GOALS_PORT", "9101")
    monkeypatch.setenv("KPI_NOTIFIER_URL", "http://notifier.example:80")
    urls = CliSettings().urls()
    assert urls["goals"] == ("http://127.0.0.1:9101", "KPI_GOALS_PORT")
    assert urls["metrics-ingest"] == ("http://127.0.0.1:8002", "default")
    assert urls["notifier"] == ("http://notifier.example:80", "KPI_NOTIFIER_URL")
    assert CliSettings().goals_url == "http://127.0.0.1:9101"


def test_health_names_each_url_checked_and_where_it_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ports = free_ports(5)
    by_port = zip(("GOALS", "INGEST", "EVALUATOR", "WEB"), [*ports[:3], ports[4]], strict=True)
    for part, port in by_port:
        monkeypatch.setenv(f"KPI_{part}_PORT", str(port))
    monkeypatch.setenv("KPI_NOTIFIER_URL", f"http://127.0.0.1:{ports[3]}")
    result = CliRunner().invoke(app, ["health"], env={"COLUMNS": "200"})
    assert result.exit_code == ExitCode.NOT_READY.value == 9  # nothing listens there
    lines = [line for line in result.output.splitlines() if "http://" in line]
    assert len(lines) == 5
    for line, port in zip(lines, ports, strict=True):
        assert f"http://127.0.0.1:{port}" in line
    assert "KPI_GOALS_PORT" in lines[0]
    assert "KPI_NOTIFIER_URL" in lines[3]
    assert "KPI_WEB_PORT" in lines[4]
