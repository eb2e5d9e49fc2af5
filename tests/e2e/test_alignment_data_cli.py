"""`kpi alignment` shows the data's findings and the overdue reviews beside goals' definition
findings (issue 14.6 and 14.8), with goals, metrics-ingest, the evaluator and the notifier as
real processes: a mistyped metric with the nearest KPI metric name, a KPI without data, a
metric gone quiet, a source's rejects, an overdue review that goes once recorded as held;
and with the evaluator and the notifier stopped, one line each says what is left out."""

import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import yaml
from kpi_ingest.sources.signatures import stripe_v1_signature

from tests.e2e.conftest import kpi
from tests.e2e.test_goals_cli import OPERATOR, field
from tests.support.procs import ServiceProcess, running
from tests.support.strategy_events import load

STALE_AFTER_S = 3
STRIPE = {
    "kind": "stripe",
    "signature": {"scheme": "stripe_v1", "secret": "whsec_e2e"},
    "mapping": [{"id": "id", "metric": "'erp.invoice.posted'", "value": "data.object.total"}],
}


def test_kpi_alignment_shows_every_services_findings(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **service_env,
        "KPI_OPERATOR_TOKEN": OPERATOR,
        "KPI_EVALUATOR_STALE_AFTER_S": str(STALE_AFTER_S),
        "KPI_NOTIFIER_MAX_ATTEMPTS": "1",  # reminders to nowhere: no retries to wait for
    }
    with ExitStack() as stack:
        procs = {n: stack.enter_context(running(n, env, tmp_path)) for n in _NAMES}
        cli = {f"KPI_{v}_URL": procs[n].url for n, v in _NAMES.items()}
        cli["COLUMNS"] = "400"  # one row per line: no wrapping
        made = kpi({**cli, "KPI_OPERATOR_TOKEN": OPERATOR}, "tenants", "create", _slug())
        cli["KPI_API_KEY"] = key = field(made.stdout, "admin_api_key")
        assert kpi(cli, "apply", "-f", str(_strategy(tmp_path)), "--yes").returncode == 0
        _send(procs["metrics-ingest"], key)

        table = _alignment_once_consumed(cli)
        assert "only_financial_kpis" in table  # goals' findings stay
        assert "review_overdue" in _row(table, "review quarterly-business-review")
        assert "(3 day(s) ago)" in _row(table, "review quarterly-business-review")
        assert "kpi review-held sales-pipeline-review" in _row(table, "review sales-pipeline")
        held = kpi(cli, "review-held", "quarterly-business-review")
        assert held.returncode == 0, held.stderr
        after = kpi(cli, "alignment", "--rule", "review_overdue").stdout
        assert "review quarterly-business-review" not in after  # held: overdue nowhere
        assert "review_overdue" in _row(after, "review sales-pipeline-review")
        assert "only_financial_kpis" not in after
        assert "metric crm.dela.won" in table
        assert "no KPI measures it; nearest KPI metric: crm.deal.won." in _row(
            table, "metric crm.dela"
        )
        engagement = _row(table, "kpi engagement")  # its metric never arrived
        assert "kpi_without_data" in engagement
        assert "metric survey.engagement never arrived" in engagement
        quiet = _row(table, "metric crm.deal.won")
        assert "stale_metric" in quiet
        assert f"more than {STALE_AFTER_S} s ago" in quiet
        rejects = _row(table, "source bill-")
        assert "source_rejects" in rejects
        assert "had 1 payload(s) or event(s) rejected" in rejects
        assert "data.object.total" in rejects  # the last reject's reason
        only = kpi(cli, "alignment", "--rule", "unmatched_metric").stdout
        assert "crm.dela.won" in only
        assert "only_financial_kpis" not in only

        procs["evaluator"].stop()
        procs["notifier"].stop()
        down = kpi(cli, "alignment")
        assert down.returncode == 0, down.stderr
        evaluator = cli["KPI_EVALUATOR_URL"]
        assert f"(without the data's findings: cannot reach evaluator at {evaluator}" in (
            down.stdout
        )
        notifier = cli["KPI_NOTIFIER_URL"]
        assert f"(without overdue reviews: cannot reach notifier at {notifier}" in down.stdout
        assert "review_overdue" not in down.stdout  # goals does not report reviews
        assert "only_financial_kpis" in down.stdout
        assert "source_rejects" in down.stdout
        assert "Traceback" not in down.stdout + down.stderr


_NAMES = {
    "goals": "GOALS",
    "metrics-ingest": "INGEST",
    "evaluator": "EVALUATOR",
    "notifier": "NOTIFIER",
}


def _strategy(tmp_path: Path) -> Path:
    """Acme with its quarterly review due 3 days ago: overdue until recorded as held, then
    due in a quarter. Its sales pipeline review (2026-01-30, monthly) stays overdue."""
    doc = load()
    qbr = next(r for r in doc["reviews"] if r["id"] == "quarterly-business-review")
    qbr["next"] = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _row(table: str, node: str) -> str:
    """The one line of the table whose node column starts with `node`."""
    [line] = [line for line in table.splitlines() if f"│ {node}" in line]
    return line


def _slug() -> str:
    return f"dh-{uuid.uuid4().hex[:8]}"


def _send(ingest: ServiceProcess, key: str) -> None:
    """Three mistyped deals, one well named, and a billing payload the source cannot map."""
    auth = {"Authorization": f"Bearer {key}"}
    now = datetime.now(UTC).isoformat()
    events = [
        {"id": f"typo-{i}", "metric": "crm.dela.won", "value": 1, "time": now} for i in range(3)
    ]
    events.append({"id": "deal-1", "metric": "crm.deal.won", "value": 1, "time": now})
    deadline = time.monotonic() + 90
    while (sent := httpx.post(f"{ingest.url}/v1/events", json=events, headers=auth)).is_error:
        assert sent.status_code == 401, sent.text
        assert time.monotonic() < deadline, sent.text
        time.sleep(0.5)  # until metrics-ingest learned the new key
    assert sent.json()["accepted"] == 4, sent.text
    sid = f"bill-{uuid.uuid4().hex[:8]}"
    assert httpx.put(f"{ingest.url}/v1/sources/{sid}", json=STRIPE, headers=auth).is_success
    body = orjson.dumps({"id": "evt_1", "created": 1770112800, "data": {"object": {}}})
    ts = str(int(time.time()))
    signature = f"t={ts},v1={stripe_v1_signature('whsec_e2e', ts, body)}"
    hook = httpx.post(
        f"{ingest.url}/v1/sources/{sid}/webhook",
        content=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )
    assert hook.json()["accepted"] == 0, hook.text


WANTED = (
    "unmatched_metric",
    "stale_metric",
    "review quarterly-business-review",
    "review sales-pipeline-review",
)


def _alignment_once_consumed(cli: dict[str, str]) -> str:
    """`kpi alignment`'s table once the evaluator consumed the events, the well-named metric
    went quiet for longer than the staleness window and the notifier knows the reviews."""
    deadline = time.monotonic() + 90
    while True:
        shown = kpi(cli, "alignment")
        assert shown.returncode == 0, shown.stderr
        if all(w in shown.stdout for w in WANTED):
            return shown.stdout
        assert time.monotonic() < deadline, shown.stdout
        time.sleep(1)
