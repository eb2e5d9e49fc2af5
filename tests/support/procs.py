"""Run services as real processes in tests: free ports, their own log files, and a clean
stop (SIGTERM, or SIGKILL for crash tests)."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from kpi_localinfra.processes import SERVICES, ServiceSpec


def free_port() -> int:
    return free_ports(1)[0]


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


def spec(name: str) -> ServiceSpec:
    return next(s for s in SERVICES if s.name == name)


@dataclass
class ServiceProcess:
    spec: ServiceSpec
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, **self.env, self.spec.port_env: str(self.port)}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.spec.module],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, timeout_s: float = 60.0, status: int = 200) -> httpx.Response:
        deadline = time.monotonic() + timeout_s
        last: httpx.Response | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.spec.name} exited: {self.log_tail()}")
            try:
                last = httpx.get(f"{self.url}/readyz", timeout=3)
                if last.status_code == status:
                    return last
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(
            f"{self.spec.name} readyz never {status}: {last and last.text}\n{self.log_tail()}"
        )

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


@contextmanager
def running(name: str, env: Mapping[str, str], log_dir: Path) -> Iterator[ServiceProcess]:
    """A service process, ready when the block starts and stopped when it ends."""
    svc = ServiceProcess(spec(name), dict(env), log_dir / f"{name}.log")
    svc.start()
    try:
        svc.wait_ready()
        yield svc
    finally:
        svc.stop()
