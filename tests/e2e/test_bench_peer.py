"""The bench's side-by-side phase (g) end to end, with short intervals: the four services as
processes mailing the demo's file sink, a real Prometheus and Alertmanager started by the
bench; the same breach reaches the sink by both paths."""

import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from bench import peer
from bench.peerstack import ALERT, Intervals
from bench.tenant import BenchTenant, peer_title
from demo.sinks import MailSink
from tests.conftest import Infra, _psql, _with_database
from tests.support.procs import free_port, service

pytestmark = pytest.mark.e2e

OPERATOR = "bench-peer-operator-token"
# the bench's names for the services (bench.tenant.service_url) -> the processes' names
NAMES = {
    "goals": "goals",
    "ingest": "metrics-ingest",
    "evaluator": "evaluator",
    "notifier": "notifier",
}


@pytest.fixture
def database_url(infra: Infra, unique: str) -> Iterator[str]:
    name = f"kpi_peer_{unique}"
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def mail_sink(folder: Path) -> Iterator[int]:
    folder.mkdir()
    port = free_port()
    controller = Controller(MailSink(folder), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def services(env: dict[str, str], smtp_port: int, log_dir: Path) -> Iterator[dict[str, str]]:
    """The four services, ready; yields the bench's KPI_<NAME>_URL variables for them."""
    own = {"KPI_OPERATOR_TOKEN": OPERATOR, "KPI_SMTP_HOST": "127.0.0.1"}
    own["KPI_SMTP_PORT"] = str(smtp_port)
    procs = {
        name: service(proc, {**env, **own}, log_dir / f"{proc}.log") for name, proc in NAMES.items()
    }
    with ExitStack() as stack:
        for p in procs.values():
            stack.callback(p.stop)
            p.start()
        for p in procs.values():
            p.wait_ready(timeout_s=120)
        yield {f"KPI_{name.upper()}_URL": p.url for name, p in procs.items()}


def test_the_same_breach_is_mailed_by_kpi_cascade_and_by_prometheus_alertmanager(
    infra: Infra,
    database_url: str,
    unique: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {
        "KPI_DATABASE_URL": database_url,
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": f"{infra.topic_prefix}peer{unique}.",
    }
    with (
        mail_sink(tmp_path / "mail") as smtp_port,
        services(env, smtp_port, tmp_path) as urls,
    ):
        for name, url in urls.items():
            monkeypatch.setenv(name, url)
        tenant = BenchTenant.create(OPERATOR)
        tenant.wait_ready()
        outcome = peer.run(tenant, tmp_path / "mail", smtp_port, Intervals(1, 1, 1))

    assert peer_title(tenant.run) in outcome.ours.subject
    assert outcome.theirs.subject == f"Alertmanager {tenant.run}: {ALERT}"
    assert f"{ALERT}: spent 1000 USD of a 10 USD budget" in outcome.theirs.text
    assert outcome.ours_s > 0
    assert outcome.theirs_s > 0
    ours, theirs = peer.rows(outcome, Intervals(1, 1, 1))
    assert ours.value == pytest.approx(outcome.ours_s * 1000)
    assert theirs.figure.endswith("Prometheus + Alertmanager (1s/1s/1s)")
    assert not leftovers(tenant.run)


def leftovers(run: str) -> list[str]:
    """This run's Prometheus or Alertmanager still running (the bench must stop both)."""
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    return [line for line in ps.stdout.splitlines() if f"bench-peer-{run}-" in line]
