"""deploy/docker/service.Dockerfile builds any of the four services from the repo root, and its
HEALTHCHECK script tells a live service from a dead one."""

import contextlib
import glob
import http.server
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.deploy._paths import DOCKERFILE, HEALTHCHECK, ROOT, SERVICES


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _args(stage: list[tuple[str, str]], word: str) -> list[str]:
    return [rest for w, rest in stage if w == word]


def _root_pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _workspace_members() -> set[str]:
    members = set()
    for pattern in _root_pyproject()["tool"]["uv"]["workspace"]["members"]:
        for path in glob.glob(pattern, root_dir=ROOT):
            if (ROOT / path / "pyproject.toml").is_file():
                members.add(f"{path}/pyproject.toml")
    return members


def test_base_image_is_python_311_slim() -> None:
    defaults = dict(a.split("=", 1) for a in _args(_instructions(), "ARG") if "=" in a)
    assert defaults["PYTHON_IMAGE"].startswith("python:3.11-slim")
    assert defaults["UV_IMAGE"].startswith("ghcr.io/astral-sh/uv:")


def test_every_workspace_manifest_is_copied_before_the_sync() -> None:
    """uv resolves the whole workspace: a member missing its pyproject.toml breaks the build."""
    build = _stages()[1]
    copied = {a.split()[0] for a in _args(build, "COPY") if a.endswith("pyproject.toml")}
    assert _workspace_members() <= copied
    assert "pyproject.toml uv.lock ./" in _args(build, "COPY")


def test_dependencies_come_from_the_lock_without_dev_tools() -> None:
    runs = _args(_stages()[1], "RUN")
    syncs = [m for run in runs for m in re.findall(r"uv sync ([^;&|]+)", run)]
    assert len(syncs) == 2
    for sync in syncs:
        assert {"--frozen", "--no-dev", "--package"} <= set(sync.split())
        assert '"kpi-${SERVICE}"' in sync
    assert "--no-editable" in syncs[-1]


def test_runtime_stage_runs_as_a_non_root_user() -> None:
    runtime = _stages()[-1]
    users = _args(runtime, "USER")
    assert users, "the runtime stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), "a numeric USER lets Kubernetes check runAsNonRoot"
    assert int(uid) > 0


def test_runtime_stage_sets_container_defaults_and_exposes_the_port() -> None:
    runtime = _stages()[-1]
    env = " ".join(_args(runtime, "ENV"))
    assert "KPI_HOST=0.0.0.0" in env.split()
    assert "KPI_LOG_FORMAT=json" in env.split()
    assert _args(runtime, "EXPOSE") == ["${PORT}"]
    healthcheck = _args(runtime, "HEALTHCHECK")
    assert len(healthcheck) == 1
    assert "/app/healthcheck.py" in healthcheck[0]
    assert "/healthz" in HEALTHCHECK.read_text(encoding="utf-8")


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_has_the_console_script_the_image_runs(service: str) -> None:
    project = tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text())
    assert project["project"]["name"] == f"kpi-{service}"
    assert f"kpi-{service}" in project["project"]["scripts"]
    assert "exec" in " ".join(_args(_stages()[-1], "CMD"))


def test_every_copied_source_exists() -> None:
    for stage in _stages():
        for args in _args(stage, "COPY"):
            if args.startswith("--from="):
                continue
            parts = [p for p in shlex.split(args) if not p.startswith("--")]
            for source in parts[:-1]:
                path = source.replace("${SERVICE}", "goals")
                assert (ROOT / path).exists(), f"COPY {source}: not in the build context"


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@contextlib.contextmanager
def _server(status: int) -> Iterator[int]:
    handler = type("Handler", (_Health,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _healthcheck(env: dict[str, str]) -> int:
    done = subprocess.run(
        [sys.executable, str(HEALTHCHECK)], env=env, capture_output=True, timeout=30
    )
    return done.returncode


def _free_port() -> int:
    with contextlib.closing(__import__("socket").socket()) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_healthcheck_passes_on_200_from_the_service_port(service: str) -> None:
    with _server(200) as port:
        env = {"KPI_SERVICE": service, SERVICES[service][1]: str(port), "KPI_HEALTH_PORT": "1"}
        assert _healthcheck(env) == 0


def test_healthcheck_falls_back_to_the_port_the_image_was_built_for() -> None:
    with _server(200) as port:
        assert _healthcheck({"KPI_SERVICE": "goals", "KPI_HEALTH_PORT": str(port)}) == 0


def test_healthcheck_fails_on_an_error_status() -> None:
    with _server(500) as port:
        assert _healthcheck({"KPI_SERVICE": "evaluator", "KPI_HEALTH_PORT": str(port)}) == 1


def test_healthcheck_fails_when_nothing_listens() -> None:
    env = {"KPI_SERVICE": "notifier", "KPI_HEALTH_PORT": str(_free_port())}
    assert _healthcheck(env) == 1


def test_healthcheck_script_is_in_the_build_context() -> None:
    assert Path(HEALTHCHECK).is_file()
