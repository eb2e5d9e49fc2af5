"""Run the four services as background processes (for `make up`, the demo and e2e tests),
and, for `make up`, the web view beside them (`STACK`).

Each service runs as `python -m <module>`, logs to `<run_dir>/<name>.log`, and leaves a pid
file; `up` returns when every `/readyz` answers 200, `down` stops all and waits for exit.
`ServiceProcess` is one service held by its caller instead (the e2e tests, the fault suite),
to stop, SIGKILL and start again. Stdlib only.
"""

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kpi_localinfra import ports
from kpi_localinfra._proc import port_open
from kpi_localinfra.mailsink import MailSink, with_mail


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    port_env: str
    port: int


SERVICES = (
    ServiceSpec("goals", "kpi_goals.main", "KPI_GOALS_PORT", ports.SERVICES["goals"]),
    ServiceSpec(
        "metrics-ingest", "kpi_ingest.main", "KPI_INGEST_PORT", ports.SERVICES["metrics-ingest"]
    ),
    ServiceSpec(
        "evaluator", "kpi_evaluator.main", "KPI_EVALUATOR_PORT", ports.SERVICES["evaluator"]
    ),
    ServiceSpec("notifier", "kpi_notifier.main", "KPI_NOTIFIER_PORT", ports.SERVICES["notifier"]),
)
# The web view owns no table and reads the four over HTTP (docs/web.md): `make up` runs it
# too, while the fault suite, the benchmarks and the demo's clocked stack keep to `SERVICES`.
WEB = ServiceSpec("web", "kpi_web.main", "KPI_WEB_PORT", ports.WEB)
STACK = (*SERVICES, WEB)


def port_of(spec: ServiceSpec, env: Mapping[str, str]) -> int:
    return int(env.get(spec.port_env, spec.port))


def free_ports(n: int) -> list[int]:
    """`n` distinct free ports: all sockets stay bound until every port is chosen, so two
    calls in a row cannot hand out the same port."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _popen(spec: ServiceSpec, env: Mapping[str, str], log_path: Path) -> "subprocess.Popen[bytes]":
    """`python -m <module>` in a session of its own (a signal to the group reaches all of
    it), output appended to `log_path` (the parent closes its copy once the child has it)."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", spec.module],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def start(spec: ServiceSpec, run_dir: Path, env: dict[str, str]) -> int:
    """Start one service detached; returns its pid."""
    run_dir.mkdir(parents=True, exist_ok=True)
    proc = _popen(spec, env, run_dir / f"{spec.name}.log")
    (run_dir / f"{spec.name}.pid").write_text(str(proc.pid))
    return proc.pid


def readiness(port: int, timeout_s: float = 2.0) -> tuple[int, dict[str, object]]:
    url = f"http://127.0.0.1:{port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return 0, {}


def wait_ready(
    specs: tuple[ServiceSpec, ...], run_dir: Path, env: dict[str, str], timeout_s: float = 90.0
) -> None:
    deadline = time.monotonic() + timeout_s
    pending = list(specs)
    while pending:
        for spec in list(pending):
            if not _alive(_pid(run_dir, spec)):
                raise RuntimeError(f"{spec.name} exited; see {run_dir / (spec.name + '.log')}")
            status, _body = readiness(port_of(spec, env))
            if status == 200:
                print(f"  {spec.name} ready on :{port_of(spec, env)}", file=sys.stderr)
                pending.remove(spec)
        if pending and time.monotonic() > deadline:
            names = ", ".join(s.name for s in pending)
            raise RuntimeError(f"not ready after {timeout_s:.0f}s: {names}; see {run_dir}/*.log")
        time.sleep(0.3)


@dataclass
class ServiceProcess:
    """One service as a child process on `port`, held by the caller (the e2e tests, the
    fault suite), which can SIGKILL it and start it again. `env` is its whole environment."""

    spec: ServiceSpec
    env: dict[str, str]
    log_path: Path
    port: int
    proc: "subprocess.Popen[bytes] | None" = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = _popen(
            self.spec, {**self.env, self.spec.port_env: str(self.port)}, self.log_path
        )

    def wait_ready(self, timeout_s: float = 60.0, status: int = 200) -> dict[str, object]:
        """Until `/readyz` answers `status` (bounded); returns its body. Fails at once when
        the process exited."""
        deadline = time.monotonic() + timeout_s
        code, body = 0, dict[str, object]()
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            code, body = readiness(self.port)
            if code == status:
                return body
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} /readyz never {status} ({code} {body})\n{self.log_tail()}")

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _pid(run_dir: Path, spec: ServiceSpec) -> int | None:
    path = run_dir / f"{spec.name}.pid"
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def stop(spec: ServiceSpec, run_dir: Path, timeout_s: float = 15.0) -> None:
    pid = _pid(run_dir, spec)
    if _alive(pid):
        assert pid is not None
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
    (run_dir / f"{spec.name}.pid").unlink(missing_ok=True)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def up(run_dir: Path, env: dict[str, str]) -> None:
    """Start the mail sink (unless `KPI_SMTP_HOST` is set), the four services wired to it
    and the web view; print where each service listens and where mail goes."""
    env, sink = with_mail(run_dir, env)
    for spec in STACK:
        if _alive(_pid(run_dir, spec)):
            print(f"  {spec.name} already running", file=sys.stderr)
        elif port_open("127.0.0.1", port_of(spec, env)):
            raise RuntimeError(f"{spec.name}: {ports.taken_message(port_of(spec, env))}")
        else:
            start(spec, run_dir, env)
    wait_ready(STACK, run_dir, env)
    print("\n".join(summary(run_dir, env, sink)))


def summary(run_dir: Path, env: Mapping[str, str], sink: MailSink | None) -> list[str]:
    """Where mail goes, then (the last line) each service's configured port."""
    if sink is not None:
        mail = sink.lines()
    else:
        mail = [
            f"mail: the notifier sends to {env['KPI_SMTP_HOST']}:"
            f"{env.get('KPI_SMTP_PORT', '25')} (KPI_SMTP_HOST)"
        ]
    listening = "  ".join(f"{spec.name} :{port_of(spec, env)}" for spec in STACK)
    return [*mail, f"{listening} (logs: {run_dir}/)"]


def down(run_dir: Path) -> None:
    """Stop the services, then any other process that left a pid file here (demo sinks)."""
    for spec in STACK:
        stop(spec, run_dir)
    for pid_file in sorted(run_dir.glob("*.pid")):
        extra = ServiceSpec(pid_file.stem, "", "", 0)
        stop(extra, run_dir)


def status(run_dir: Path, env: dict[str, str]) -> int:
    worst = 0
    for spec in STACK:
        code, body = readiness(port_of(spec, env))
        alive = _alive(_pid(run_dir, spec))
        state = "up" if alive else "down"
        print(f"{spec.name:15} {state:5} readyz={code or '-'} {body.get('down', '')}")
        worst = worst or (0 if code == 200 else 1)
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kpi_localinfra.processes")
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--run-dir", type=Path, default=Path(".local/run"))
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.command == "up":
        try:
            up(args.run_dir, env)
        except RuntimeError as exc:
            print(f"make up: {exc}", file=sys.stderr)
            return 1
    elif args.command == "down":
        down(args.run_dir)
    else:
        return status(args.run_dir, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
