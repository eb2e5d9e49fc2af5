"""Start what the demo needs: its sinks and the four services, wired to them."""

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from kpi_localinfra import processes

STATE = Path(".local/demo")
RUN = Path(".local/run")
SMTP_PORT = int(os.environ.get("KPI_DEMO_SMTP_PORT", "2525"))
SLACK_PORT = int(os.environ.get("KPI_DEMO_SLACK_PORT", "8025"))
SLACK_URL = f"http://127.0.0.1:{SLACK_PORT}"


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
        "KPI_SMTP_HOST": "127.0.0.1",
        "KPI_SMTP_PORT": str(SMTP_PORT),
        "ACME_FINANCE_SLACK_WEBHOOK": f"{SLACK_URL}/hooks/finance-slack",
        "ACME_SALES_SLACK_WEBHOOK": f"{SLACK_URL}/hooks/sales-slack",
    }


def start_sinks() -> Path:
    """The SMTP sink and Slack stand-in, as a background process; returns their folder."""
    folder = STATE / "sinks"
    pid_file = RUN / "demo-sinks.pid"
    if pid_file.exists() and _alive(int(pid_file.read_text())):
        return folder
    RUN.mkdir(parents=True, exist_ok=True)
    with (RUN / "demo-sinks.log").open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "demo.sinks",
                "--dir",
                str(folder),
                "--smtp-port",
                str(SMTP_PORT),
                "--http-port",
                str(SLACK_PORT),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pid_file.write_text(str(proc.pid))
    _wait_http(f"{SLACK_URL}/docs")
    return folder


def restart_services() -> None:
    """(Re)start the services with the demo's wiring: make up's services lack the sinks."""
    processes.down(RUN)
    processes.up(RUN, service_env())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _wait_http(url: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer; see {RUN}/demo-sinks.log") from None
            time.sleep(0.2)


def read_sink(folder: Path, kind: str) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted((folder / kind).glob("*.json"))]
