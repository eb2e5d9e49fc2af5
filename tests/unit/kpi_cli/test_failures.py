"""Issue 14, points 1 and 4: every failure of a `kpi` command is one or two lines and an exit
code of its kind, never a traceback (unless --debug); a missing KPI_API_KEY is named before
any request. The services here are absent: a closed port, a port that never answers."""

import socket
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
from kpi_cli.client import CliError, ExitCode, check
from kpi_cli.main import app
from typer.testing import CliRunner

ACME = Path(__file__).parents[3] / "examples" / "acme" / "strategy.yaml"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def run(env: Mapping[str, str | None], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **env})
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("variable", "args"),
    [
        ("KPI_EVALUATOR_URL", ["scorecard"]),
        ("KPI_GOALS_URL", ["apply", "-f", str(ACME)]),
        ("KPI_NOTIFIER_URL", ["notifications"]),
        ("KPI_GOALS_URL", ["cascade"]),
    ],
)
def test_a_closed_port_is_named_with_its_variable(variable: str, args: list[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    code, output = run({"KPI_API_KEY": "k", variable: url}, *args)
    assert code == ExitCode.UNREACHABLE.value == 4
    assert f"cannot reach {variable.split('_')[1].lower()}" in output.replace("metrics-", "")
    assert f"at {url} (" in output
    assert f"{variable} says where it is" in output


def test_kpi_send_to_a_closed_port_says_how_much_was_acknowledged(tmp_path: Path) -> None:
    data = tmp_path / "e.jsonl"
    data.write_text('{"id": "a", "metric": "a.b", "value": 1, "time": "2026-01-01T00:00:00Z"}\n')
    url = f"http://127.0.0.1:{closed_port()}"
    code, output = run({"KPI_API_KEY": "k", "KPI_INGEST_URL": url}, "send", "-f", str(data))
    assert code == ExitCode.UNREACHABLE
    assert "0 of 1 records were acknowledged" in output


def test_a_url_without_its_scheme_is_a_configuration_error() -> None:
    code, output = run({"KPI_API_KEY": "k", "KPI_GOALS_URL": "localhost:9101"}, "cascade")
    assert code == ExitCode.CONFIG.value == 3
    assert "KPI_GOALS_URL=localhost:9101 is not an http(s) URL" in output
    assert "KPI_GOALS_URL=http://localhost:9101" in output


def test_a_service_that_never_answers_is_a_timeout(silent_url: str) -> None:
    env = {"KPI_API_KEY": "k", "KPI_EVALUATOR_URL": silent_url, "KPI_TIMEOUT_S": "0.3"}
    code, output = run(env, "scorecard")
    assert code == ExitCode.TIMEOUT.value == 5
    assert f"evaluator at {silent_url} did not answer GET /v1/scorecard within 0.3 s" in output


def test_an_unset_api_key_is_named_before_any_request() -> None:
    url = f"http://127.0.0.1:{closed_port()}"  # a request would be exit 4, not 3
    for args in (["scorecard"], ["cascade"], ["notifications"], ["keys", "list"]):
        env = {"KPI_API_KEY": None, "KPI_EVALUATOR_URL": url, "KPI_GOALS_URL": url}
        code, output = run({**env, "KPI_NOTIFIER_URL": url}, *args)
        assert code == ExitCode.CONFIG
        assert "KPI_API_KEY is not set" in output
    code, output = run({"KPI_OPERATOR_TOKEN": None}, "tenants", "create", "x")
    assert (code, "KPI_OPERATOR_TOKEN is not set" in output) == (ExitCode.CONFIG, True)


def test_debug_shows_the_failure_itself() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    env = {"KPI_API_KEY": "k", "KPI_EVALUATOR_URL": url}
    result = CliRunner().invoke(app, ["--debug", "scorecard"], env=env)
    assert isinstance(result.exception, CliError)


def test_version() -> None:
    code, output = run({}, "--version")
    assert (code, output.startswith("kpi ")) == (0, True)


def answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request("GET", "http://h/v1/x"))


def test_error_answers_keep_their_field_paths_and_code_by_kind() -> None:
    error = {"message": "bad", "errors": [{"path": "id", "message": "pattern '^[a-z]{1,62}$'"}]}
    with pytest.raises(CliError) as refused:
        check(answer(422, {"error": error}))
    assert refused.value.code == ExitCode.REFUSED
    assert str(refused.value) == "bad (HTTP 422)\n  id: pattern '^[a-z]{1,62}$'"
    with pytest.raises(CliError) as failed:
        check(answer(503, {"error": {"message": "kafka down"}}))
    assert failed.value.code == ExitCode.SERVICE
    not_json = httpx.Response(200, text="<html>", request=httpx.Request("GET", "http://h/x"))
    with pytest.raises(CliError, match="not with JSON") as wrong:
        check(not_json)
    assert wrong.value.code == ExitCode.SERVICE
