"""The local mail sink `make up` starts unless `KPI_SMTP_HOST` names a mail server: the
demo's SMTP sink (demo/sinks.py, with its Slack stand-in), which keeps every message as a
JSON file, so mail works on day one and can be read (stdlib only)."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kpi_localinfra import ports
from kpi_localinfra._proc import pid_alive, port_open, read_pid, spawn_detached

# the pid file the demo uses too, so `make demo` and `make down` handle the same process
PID_NAME = "demo-sinks"
HOST = "127.0.0.1"


class MailSinkError(RuntimeError):
    """The sink could not be started (its port taken, or it exited)."""


@dataclass(frozen=True)
class MailSink:
    smtp_port: int
    http_port: int
    folder: Path  # messages land in folder/mail and folder/slack

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MailSink:
        """The sink the demo uses: `KPI_DEMO_SMTP_PORT`, `KPI_DEMO_SLACK_PORT`, `KPI_DEMO_DIR`."""
        return cls(
            int(env.get("KPI_DEMO_SMTP_PORT") or ports.SMTP_SINK),
            int(env.get("KPI_DEMO_SLACK_PORT") or ports.SLACK_SINK),
            Path(env.get("KPI_DEMO_DIR") or ".local/demo") / "sinks",
        )

    def notifier_env(self) -> dict[str, str]:
        return {"KPI_SMTP_HOST": HOST, "KPI_SMTP_PORT": str(self.smtp_port)}

    def ensure_running(self, run_dir: Path, timeout_s: float = 30.0) -> None:
        """Start the sink in the background unless this run folder's sink is alive."""
        pid_file = run_dir / f"{PID_NAME}.pid"
        pid = read_pid(pid_file)
        if pid is not None and pid_alive(pid):
            return
        for port in (self.smtp_port, self.http_port):
            if port_open(HOST, port):
                raise MailSinkError(f"mail sink: {ports.taken_message(port)}")
        run_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "demo.sinks", "--dir", str(self.folder)]
        command += ["--smtp-port", str(self.smtp_port), "--http-port", str(self.http_port)]
        pid = spawn_detached(command, run_dir / f"{PID_NAME}.log")
        pid_file.write_text(str(pid))
        self._wait_listening(pid, run_dir, timeout_s)

    def _wait_listening(self, pid: int, run_dir: Path, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not (port_open(HOST, self.smtp_port) and port_open(HOST, self.http_port)):
            if not pid_alive(pid) or time.monotonic() > deadline:
                raise MailSinkError(f"the mail sink did not start; see {run_dir}/{PID_NAME}.log")
            time.sleep(0.2)

    def lines(self) -> list[str]:
        """Where mail goes and how to read it, for `make up` to print."""
        mail = self.folder / "mail"
        return [
            f"mail: the notifier sends to the local sink smtp://{HOST}:{self.smtp_port}; "
            f"each message is a JSON file (from, to, subject, text) in {mail}/",
            f"  read the newest: ls -t {mail} | head; cat {mail}/<file>",
            "  real mail: set KPI_SMTP_HOST (and KPI_SMTP_PORT, KPI_SMTP_FROM, ...) before make up",
        ]


def with_mail(run_dir: Path, env: dict[str, str]) -> tuple[dict[str, str], MailSink | None]:
    """The services' environment with mail going to the local sink, started if needed,
    unless `KPI_SMTP_HOST` names a mail server already."""
    if env.get("KPI_SMTP_HOST"):
        return env, None
    sink = MailSink.from_env(env)
    sink.ensure_running(run_dir)
    return {**env, **sink.notifier_env()}, sink
