"""Test layers: `tests/unit` starts nothing; `tests/integration` uses the real Kafka and
PostgreSQL (started once per session, each test isolated by its own database objects, topic
prefix or tenant); `tests/e2e` runs services as real processes.

Infrastructure: `KPI_DATABASE_URL` / `KPI_KAFKA_BOOTSTRAP` when set (as `make test` sets
them), otherwise the local stack is started with `python -m kpi_localinfra up`.
A skipped test fails the run: a skip is not a pass.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import kpi_common.logging
import pytest

# In-process services log through loggers that must stay capturable (structlog.testing).
kpi_common.logging.CACHE_LOGGERS = False


@dataclass(frozen=True)
class Infra:
    admin_database_url: str
    database_url: str
    kafka_bootstrap: str
    topic_prefix: str


def _stack_env() -> dict[str, str]:
    keys = ("KPI_DATABASE_URL", "KPI_KAFKA_BOOTSTRAP")
    if all(os.environ.get(k) for k in keys):
        return {k: os.environ[k] for k in keys}
    subprocess.run([sys.executable, "-m", "kpi_localinfra", "up"], check=True)
    out = subprocess.run(
        [sys.executable, "-m", "kpi_localinfra", "env"], check=True, capture_output=True, text=True
    ).stdout
    env = {}
    for line in out.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name.strip()] = value.strip().strip("'\"")
    return {k: env[k] for k in keys}


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def _psql(admin_url: str, sql: str) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """The real Kafka and Postgres, with a database and topic prefix of this session's own."""
    env = _stack_env()
    run_id = uuid.uuid4().hex[:10]
    db_name = f"kpi_test_{run_id}"
    _psql(env["KPI_DATABASE_URL"], f'CREATE DATABASE "{db_name}"')
    yield Infra(
        admin_database_url=env["KPI_DATABASE_URL"],
        database_url=_with_database(env["KPI_DATABASE_URL"], db_name),
        kafka_bootstrap=env["KPI_KAFKA_BOOTSTRAP"],
        topic_prefix=f"test-{run_id}.",
    )
    _psql(env["KPI_DATABASE_URL"], f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    _drop_topics(env["KPI_KAFKA_BOOTSTRAP"], f"test-{run_id}.")


def _drop_topics(bootstrap: str, prefix: str) -> None:
    """The session's topics go with its database (a broker kept for days filled up)."""
    import asyncio

    from kpi_common.topic_admin import drop_topics

    try:
        asyncio.run(drop_topics(bootstrap, prefix))
    except Exception as exc:  # Kafka stopped by a failing outage test: nothing to clean up
        print(f"could not drop the topics {prefix}*: {exc}")


@pytest.fixture
def unique() -> str:
    """A short id for naming a test's own tenants, groups and topics."""
    return uuid.uuid4().hex[:8]


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped:
        terminalreporter.write_line(
            f"FAILED: {len(_skipped)} test(s) were skipped, and a skip is not a pass:", red=True
        )
        for nodeid in _skipped:
            terminalreporter.write_line(f"  {nodeid}")
