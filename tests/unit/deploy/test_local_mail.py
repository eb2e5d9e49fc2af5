"""`make up` starts the local mail sink unless KPI_SMTP_HOST is set, points the notifier at
it, and says where mail goes and how to read it; its last line names the configured ports."""

import json
import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from kpi_localinfra import processes
from kpi_localinfra._proc import pid_alive, read_pid, terminate
from kpi_localinfra.mailsink import PID_NAME, with_mail


@pytest.fixture
def run_dir(tmp_path: Path) -> Iterator[Path]:
    run = tmp_path / "run"
    yield run
    pid = read_pid(run / f"{PID_NAME}.pid")
    if pid is not None:
        terminate(pid, 10, group=True)


def _send(port: int) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "kpi@example.com", "bea@example.com", "revenue"
    msg.set_content("off track")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(msg)


def _wait_files(folder: Path) -> list[Path]:
    deadline = time.monotonic() + 10
    while not (found := sorted(folder.glob("*.json"))) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def test_without_smtp_host_the_sink_starts_and_the_notifier_is_pointed_at_it(
    run_dir: Path, tmp_path: Path
) -> None:
    smtp, slack = processes.free_ports(2)
    env = {"KPI_DEMO_SMTP_PORT": str(smtp), "KPI_DEMO_SLACK_PORT": str(slack)}
    env["KPI_DEMO_DIR"] = str(tmp_path / "demo")
    wired, sink = with_mail(run_dir, env)
    assert sink is not None
    assert wired["KPI_SMTP_HOST"] == "127.0.0.1"
    assert wired["KPI_SMTP_PORT"] == str(smtp)
    _send(smtp)
    (mail,) = _wait_files(tmp_path / "demo" / "sinks" / "mail")
    assert json.loads(mail.read_text())["subject"] == "revenue"
    again, _ = with_mail(run_dir, env)  # idempotent: the running sink is kept
    assert again == wired
    lines = processes.summary(run_dir, {**wired, "KPI_GOALS_PORT": "9101"}, sink)
    assert f"smtp://127.0.0.1:{smtp}" in lines[0]
    assert str(tmp_path / "demo" / "sinks" / "mail") in lines[0]
    assert any("ls -t" in line for line in lines)
    assert lines[-1].startswith("goals :9101  metrics-ingest :8002")


def test_with_smtp_host_no_sink_starts(run_dir: Path) -> None:
    env = {"KPI_SMTP_HOST": "smtp.example.com", "KPI_SMTP_PORT": "587"}
    wired, sink = with_mail(run_dir, env)
    assert (wired, sink) == (env, None)
    assert not run_dir.exists()
    lines = processes.summary(run_dir, env, None)
    assert lines[0] == "mail: the notifier sends to smtp.example.com:587 (KPI_SMTP_HOST)"


def test_the_sink_stops_with_make_down(run_dir: Path, tmp_path: Path) -> None:
    smtp, slack = processes.free_ports(2)
    env = {"KPI_DEMO_SMTP_PORT": str(smtp), "KPI_DEMO_SLACK_PORT": str(slack)}
    with_mail(run_dir, {**env, "KPI_DEMO_DIR": str(tmp_path / "demo")})
    pid = read_pid(run_dir / f"{PID_NAME}.pid")
    assert pid is not None
    processes.down(run_dir)
    assert not (run_dir / f"{PID_NAME}.pid").exists()
    assert not pid_alive(pid)
