"""Run services as real processes in tests: free ports, their own log files, and a clean
stop (SIGTERM, or SIGKILL for crash tests). The process class is kpi_localinfra's, which
the fault suite (chaos) uses too."""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from kpi_localinfra.processes import STACK, ServiceProcess, ServiceSpec, free_ports

__all__ = ["ServiceProcess", "free_port", "free_ports", "running", "service", "spec"]


def free_port() -> int:
    return free_ports(1)[0]


def spec(name: str) -> ServiceSpec:
    return next(s for s in STACK if s.name == name)


def service(name: str, env: Mapping[str, str], log_path: Path) -> ServiceProcess:
    """The service `name` on a free port, with `env` over this process's environment."""
    return ServiceProcess(spec(name), {**os.environ, **env}, log_path, free_port())


@contextmanager
def running(name: str, env: Mapping[str, str], log_dir: Path) -> Iterator[ServiceProcess]:
    """A service process, ready when the block starts and stopped when it ends."""
    svc = service(name, env, log_dir / f"{name}.log")
    svc.start()
    try:
        svc.wait_ready()
        yield svc
    finally:
        svc.stop()
