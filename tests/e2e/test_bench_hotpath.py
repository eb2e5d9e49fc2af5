"""The bench's row (i) end to end with a small event count: goals as a process publishes the
bench tenant's strategy; the bench runs the evaluator of the commit before the archive (from
a temporary git worktree) and this tree's evaluator side by side, feeds both the same events,
and reports each one's CPU per event and their ratio."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import hotpath
from bench.tenant import BenchTenant
from tests.conftest import Infra, _psql, _with_database
from tests.support.procs import running

pytestmark = pytest.mark.e2e

OPERATOR = "bench-hotpath-operator-token"


@pytest.fixture
def database_url(infra: Infra, unique: str) -> Iterator[str]:
    name = f"kpi_hotpath_{unique}"
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def worktrees() -> str:
    return subprocess.run(
        ["git", "worktree", "list"], cwd=hotpath.ROOT, capture_output=True, text=True, check=True
    ).stdout


async def test_cpu_per_event_before_and_with_the_archive(
    infra: Infra, database_url: str, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"{infra.topic_prefix}hot{unique}."
    env = {
        "KPI_DATABASE_URL": database_url,
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": prefix,
        "KPI_OPERATOR_TOKEN": OPERATOR,
    }
    with running("goals", env, tmp_path) as goals:
        monkeypatch.setenv("KPI_GOALS_URL", goals.url)
        tenant = BenchTenant.create(OPERATOR)
        bench_infra = hotpath.Infra(database_url, infra.kafka_bootstrap, prefix, tmp_path)
        rows = await hotpath.measure(tenant, bench_infra, events=1500, rounds=1)
    print("\n".join(f"{r.figure}: {r.value:.1f} {r.unit}" for r in rows))
    old, new, ratio = rows
    assert "before the archive" in old.figure
    assert "with the archive" in new.figure
    assert old.value > 0
    assert new.value > 0
    assert ratio.value == pytest.approx(new.value / old.value)
    assert ratio.target == "<= 1.25"
    assert ratio.ok is (ratio.value <= 1.25)
    # which code each evaluator ran is checked by the bench itself (the archive table exists
    # in the database of the one with the archive only), else measure() raised
    assert "kpi-bench-before-" not in worktrees()  # the temporary worktree is gone
