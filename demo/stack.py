"""Start what the demo needs: its sinks and the four services, wired to them and running on
the demo clock (demo/clock.py)."""

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from kpi_localinfra import ports, processes

STATE = Path(os.environ.get("KPI_DEMO_DIR", ".local/demo"))
RUN = Path(".local/run")
CLOCK_FILE = STATE / "clock.json"
SINKS = STATE / "sinks"
SMTP_PORT = int(os.environ.get("KPI_DEMO_SMTP_PORT") or ports.SMTP_SINK)
SLACK_PORT = int(os.environ.get("KPI_DEMO_SLACK_PORT") or ports.SLACK_SINK)
SLACK_URL = f"http://127.0.0.1:{SLACK_PORT}"
BREACH_FOR_S = 30.0  # longer than folding the replayed backlog takes: no transient breaches
TICK_S = 2.0
GROUP_WAIT_S = 10.0  # a few ticks: breaches of one cause open within a tick or two


def operator_token() -> str:
    """One operator token per local installation, kept beside the demo's state."""
    path = STATE / "operator-token"
    if not path.exists():
        STATE.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


def service_env() -> dict[str, str]:
    return {
        **os.environ,
        "KPI_OPERATOR_TOKEN": operator_token(),
        "KPI_DEMO_CLOCK_FILE": str(CLOCK_FILE.resolve()),
        "KPI_SMTP_HOST": "127.0.0.1",
        "KPI_SMTP_PORT": str(SMTP_PORT),
        "KPI_SMTP_FROM": "kpi-cascade <kpi@acme.example>",
        "ACME_FINANCE_SLACK_WEBHOOK": f"{SLACK_URL}/hooks/finance-slack",
        "ACME_SALES_SLACK_WEBHOOK": f"{SLACK_URL}/hooks/sales-slack",
        # a replayed quarter is older than the default 7 days of claims: keep them all
        "KPI_INGEST_DEDUP_HORIZON_DAYS": "400",
        "KPI_INGEST_CDC_REFRESH_S": "1",
        "KPI_EVALUATOR_TICK_S": str(TICK_S),
        "KPI_EVALUATOR_BREACH_FOR_S": str(BREACH_FOR_S),
        "KPI_NOTIFIER_TICK_INTERVAL_S": str(TICK_S),
        "KPI_NOTIFIER_SLACK_MIN_INTERVAL_S": "0.1",
    }


def stop_all() -> None:
    """Stop the services (the demo's or `make up`'s) and the sinks of an earlier run."""
    processes.down(RUN)


def restart_services() -> None:
    """The four services on the real clock, wired to the sinks (for `make bench`)."""
    stop_all()
    start_sinks()
    processes.up(RUN, service_env())


def start(names: tuple[str, ...]) -> None:
    """Start these services on the demo clock and wait until each answers /readyz."""
    # the regions' and revenue's breaches open on the evaluator's ticks once BREACH_FOR_S has
    # passed: the incident's first notification waits for them all (docs/demo.md); the
    # bench's restart_services keeps the notifier's default
    env = {**service_env(), "KPI_NOTIFIER_GROUP_WAIT_S": str(GROUP_WAIT_S)}
    specs = tuple(s for s in processes.STACK if s.name in names)
    for spec in specs:
        clocked = processes.ServiceSpec(spec.name, "demo.clocked", spec.port_env, spec.port)
        processes.start(clocked, RUN, {**env, "KPI_DEMO_SERVICE": spec.name})
    processes.wait_ready(specs, RUN, env, timeout_s=180)


def start_sinks() -> Path:
    """The SMTP sink and Slack stand-in, as a background process; returns their folder."""
    RUN.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "demo.sinks", "--dir", str(SINKS)]
    command += ["--smtp-port", str(SMTP_PORT), "--http-port", str(SLACK_PORT)]
    with (RUN / "demo-sinks.log").open("ab") as log:
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    (RUN / "demo-sinks.pid").write_text(str(proc.pid))
    _wait_http(f"{SLACK_URL}/docs")
    return SINKS


def _wait_http(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer; see {RUN}/demo-sinks.log") from None
            time.sleep(0.2)


def read_sink(folder: Path, kind: str, since_ns: int = 0) -> list[dict[str, object]]:
    """The messages the sink kept, received at or after `since_ns` (files are named
    `<receive time in ns>-<n>.json`; the bench and earlier runs leave theirs there too)."""
    files = sorted((folder / kind).glob("*.json"))
    return [json.loads(p.read_text()) for p in files if int(p.name.split("-")[0]) >= since_ns]
