"""`kpi kpi-status` and `kpi scorecard` against goals and the evaluator as real processes
(issue 14): the status is a table; a period key spanning several of a KPI's periods is
refused naming its kind, not answered with one of them; a title with brackets prints as it
is; the evaluator stopped is one line and exit 4, not a traceback."""

import time
import uuid
from pathlib import Path

from tests.e2e.conftest import kpi
from tests.e2e.test_goals_cli import OPERATOR, field
from tests.support.procs import running, service
from tests.support.strategy_events import ACME


def test_kpi_status_and_scorecard_against_the_evaluator(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    evaluator = service("evaluator", service_env, tmp_path / "evaluator.log")
    evaluator.start()
    try:
        with running("goals", {**service_env, "KPI_OPERATOR_TOKEN": OPERATOR}, tmp_path) as goals:
            evaluator.wait_ready()
            cli = {"KPI_GOALS_URL": goals.url, "KPI_EVALUATOR_URL": evaluator.url}
            made = kpi({**cli, "KPI_OPERATOR_TOKEN": OPERATOR}, "tenants", "create", _slug())
            cli["KPI_API_KEY"] = field(made.stdout, "admin_api_key")
            doc = tmp_path / "acme.yaml"
            csat = ("title: Customer satisfaction (CSAT)", "title: CSAT [/] [count]")
            doc.write_text(ACME.read_text().replace(*csat))
            assert kpi(cli, "apply", "-f", str(doc)).returncode == 0
            _check_status_and_scorecard(cli)
    finally:
        evaluator.stop()
    down = kpi(cli, "scorecard")
    assert down.returncode == 4
    assert f"cannot reach evaluator at {evaluator.url}" in down.stderr
    assert "Traceback" not in down.stderr


def _check_status_and_scorecard(cli: dict[str, str]) -> None:
    deadline = time.monotonic() + 90
    while (status := kpi(cli, "kpi-status", "csat")).returncode != 0:
        assert time.monotonic() < deadline, status.stderr  # until it learns key and strategy
        time.sleep(0.5)
    assert "┃ KPI " in status.stdout
    assert "│ csat " in status.stdout

    quarter = kpi(cli, "kpi-status", "csat", "--period", "2026-Q4")
    assert quarter.returncode == 1
    assert "KPI csat is measured per month and period 2026-Q4 spans more than one" in (
        quarter.stderr
    )
    assert "e.g. 2026-10 (HTTP 422)" in quarter.stderr
    assert kpi(cli, "kpi-status", "csat", "--period", "2026-11").returncode == 0
    assert kpi(cli, "kpi-status", "revenue", "--period", "2026-Q1").returncode == 0
    raw = kpi(cli, "kpi-status", "csat", "--json")
    assert '"kpi_id": "csat"' in raw.stdout

    card = kpi(cli, "scorecard")
    assert card.returncode == 0, card.stderr
    assert "CSAT [/] [count]" in card.stdout


def _slug() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"
