"""(i) The hot path's CPU per event before and after the archive, in the same session.

Two evaluators run side by side on the bench's PostgreSQL and Kafka: the one of this tree
("with the archive") and the one of the commit before the archive landed ("before": the first
parent of the merge that brought it, checked out into a temporary `git worktree` and run with
its own packages first on `PYTHONPATH`, as bench (g) runs another system). Each has a database
and a topic prefix of its own, so neither sees the other's state, and nothing either publishes
reaches the bench's notifier. Each is given the bench tenant's `goals.changes` records, copied
byte for byte from the bench's topic, then, round after round and in turns, the same metric
events (the `bench.e2e` count KPI of (c), fresh ids) produced straight to its
`metrics.events`. The figure is the process's user + system CPU time (from /proc) from the
first event of a round until the KPI's actual, read through that evaluator's API, counts all
of them, summed over the rounds, over the events: the consumer's whole path per event (decode,
dedup, archive, fold, evaluate, offsets and outbox in one transaction). Ingest is not in it:
it did not change."""

import asyncio
import json
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from kpi_common.kafka import create_producer, ensure_topics, publish
from kpi_common.topic_admin import drop_topics
from kpi_common.topic_reads import end_offsets
from kpi_common.topics import GOALS_CHANGES
from kpi_localinfra.processes import SERVICES, ServiceProcess, free_ports

from bench.memory import pid_cpu_seconds
from bench.older_contract import downgraded
from bench.table import Row
from bench.tenant import THROUGHPUT_KPI, THROUGHPUT_METRIC, BenchTenant, observed

ARCHIVE_MERGE = "2f270c8"  # "Merge branch 'archive'" on main
GOAL = 1.25  # at most 25 % more CPU per event with the archive
EVENTS = 20_000  # per round and evaluator
ROUNDS = 2
CHUNK = 500
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Variant:
    label: str
    pythonpath: str  # "" for this tree
    archive: bool  # whether its database must have the archive table (checks which code ran)
    svc: ServiceProcess | None = None
    database: str = ""
    prefix: str = ""
    cpu_s: float = 0.0
    events: int = 0
    fed: int = 0

    @property
    def us_per_event(self) -> float:
        return self.cpu_s * 1e6 / max(1, self.events)


@dataclass(frozen=True)
class Infra:
    """Where the bench's services run: their PostgreSQL, Kafka and topic prefix."""

    database_url: str
    bootstrap: str
    prefix: str
    logs: Path

    @classmethod
    def from_env(cls) -> "Infra":
        return cls(
            os.environ["KPI_DATABASE_URL"],
            os.environ.get("KPI_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
            os.environ.get("KPI_TOPIC_PREFIX", ""),
            Path(".local/run"),
        )


async def measure(
    tenant: BenchTenant, infra: Infra | None = None, events: int = EVENTS, rounds: int = ROUNDS
) -> list[Row]:
    run = uuid.uuid4().hex[:8]
    infra = infra or Infra.from_env()
    infra.logs.mkdir(parents=True, exist_ok=True)
    try:
        _git("cat-file", "-e", f"{ARCHIVE_MERGE}^1")
    except (OSError, subprocess.CalledProcessError):
        figure = f"(i) not measured: no git history with {ARCHIVE_MERGE} (a clone, not an export)"
        return [Row(figure, 0.0, "")]
    with _before_tree() as (commit, old):
        paths = [old / "services/evaluator/src", old / "libs/kpi-common/src"]
        before = Variant(
            f"before the archive ({commit[:7]})", os.pathsep.join(map(str, paths)), False
        )
        after = Variant("with the archive (this tree)", "", True)
        async with _running([before, after], run, tenant, infra):
            for n in range(rounds):
                for v in (before, after):
                    await _round(v, tenant, infra, f"{run}-{n}", events)
    ratio = after.us_per_event / before.us_per_event
    return [
        Row(f"(i) evaluator CPU per event, {before.label}", before.us_per_event, "us"),
        Row(f"(i) evaluator CPU per event, {after.label}", after.us_per_event, "us"),
        Row("(i) ratio with / before the archive", ratio, "", f"<= {GOAL}", ratio <= GOAL),
    ]


@contextmanager
def _before_tree() -> Iterator[tuple[str, Path]]:
    """The commit before the archive, checked out in a temporary worktree (removed after)."""
    commit = _git("rev-parse", f"{ARCHIVE_MERGE}^1")
    path = Path(tempfile.mkdtemp(prefix="kpi-bench-before-")) / "tree"
    _git("worktree", "add", "--detach", str(path), commit)
    try:
        yield commit, path
    finally:
        _git("worktree", "remove", "--force", str(path))


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@asynccontextmanager
async def _running(
    variants: list[Variant], run: str, tenant: BenchTenant, infra: Infra
) -> AsyncIterator[None]:
    base_url, bootstrap = infra.database_url, infra.bootstrap
    admin = await asyncpg.connect(_plain(base_url))
    try:
        for i, v in enumerate(variants):
            v.database = f"kpi_bench_hotpath_{run}_{i}"
            v.prefix = f"{infra.prefix}bench-hotpath-{run}-{i}."
            await admin.execute(f'CREATE DATABASE "{v.database}"')
            await ensure_topics(bootstrap, v.prefix, 1)
            source = infra.prefix + GOALS_CHANGES.name
            older = bool(v.pythonpath)  # an older commit's evaluator reads an older contract
            await _copy_goals_changes(bootstrap, source, tenant.tenant_id, v.prefix, older)
            v.svc = _service(v, _with_database(base_url, v.database), bootstrap, infra.logs)
            v.svc.start()
        for v in variants:
            assert v.svc is not None
            await asyncio.to_thread(v.svc.wait_ready, 120)
            await _until(lambda v=v: _status(v, tenant) is not None, 120, f"{v.label}: strategy")
            await _check_code(_with_database(base_url, v.database), v)
        yield
    finally:
        for v in variants:
            if v.svc is not None:
                v.svc.stop()
            if v.database:
                await admin.execute(f'DROP DATABASE IF EXISTS "{v.database}" WITH (FORCE)')
            if v.prefix:
                await drop_topics(bootstrap, v.prefix)
        await admin.close()


async def _check_code(database_url: str, v: Variant) -> None:
    """The evaluator that answered is the code meant: the archive table exists or not."""
    conn = await asyncpg.connect(_plain(database_url))
    try:
        found = await conn.fetchval("SELECT to_regclass('evaluator.events') IS NOT NULL")
    finally:
        await conn.close()
    if found != v.archive:
        raise RuntimeError(f"(i) {v.label}: evaluator.events {'missing' if v.archive else 'found'}")


def _service(v: Variant, database_url: str, bootstrap: str, logs: Path) -> ServiceProcess:
    spec = next(s for s in SERVICES if s.name == "evaluator")
    env = {k: val for k, val in os.environ.items() if not k.startswith("KPI_")}
    env |= {
        "KPI_DATABASE_URL": database_url,
        "KPI_KAFKA_BOOTSTRAP": bootstrap,
        "KPI_TOPIC_PREFIX": v.prefix,
        "KPI_TOPIC_PARTITIONS": "1",
        "KPI_EVALUATOR_TICK_S": "3600",  # no tick in the figure: only the consumer's work
        "KPI_LOG_LEVEL": "WARNING",
    }
    if v.pythonpath:
        env["PYTHONPATH"] = v.pythonpath
    log = logs / f"bench-hotpath-{v.prefix.strip('.')}.log"
    return ServiceProcess(spec, env, log, free_ports(1)[0])


async def _copy_goals_changes(
    bootstrap: str, source: str, tenant_id: str, prefix: str, older: bool
) -> None:
    """The bench tenant's records of the bench's `goals.changes`, byte for byte (for an
    older commit's evaluator, as its contract reads them: bench.older_contract)."""
    ends = {tp: n for tp, n in (await end_offsets(bootstrap, source)).items() if n > 0}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
    )
    producer = create_producer(bootstrap)
    await consumer.start()
    await producer.start()
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        while [tp for tp in ends if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    if r.value is None or json.loads(r.value)["tenant_id"] != tenant_id:
                        continue
                    value = downgraded(r.value) if older else r.value
                    if value is not None:
                        await producer.send(prefix + GOALS_CHANGES.name, value, key=r.key)
        await producer.flush()
    finally:
        await producer.stop()
        await consumer.stop()


async def _round(v: Variant, tenant: BenchTenant, infra: Infra, run: str, events: int) -> None:
    bootstrap, database_url = infra.bootstrap, _with_database(infra.database_url, v.database)
    assert v.svc is not None
    assert v.svc.proc is not None
    messages = [
        observed(v.prefix, tenant.tenant_id, THROUGHPUT_METRIC, f"bench-hotpath-{run}-{i}")
        for i in range(events)
    ]
    target = v.fed + events
    producer = create_producer(bootstrap)
    await producer.start()
    try:
        cpu = pid_cpu_seconds(v.svc.proc.pid)
        for i in range(0, len(messages), CHUNK):
            await publish(producer, messages[i : i + CHUNK])
        # the offsets commit with each batch's fold: read from the database, so that waiting
        # costs the evaluator nothing
        await _until_consumed(v, database_url, target)
        v.cpu_s += pid_cpu_seconds(v.svc.proc.pid) - cpu
    finally:
        await producer.stop()
    counted = await asyncio.to_thread(_status, v, tenant)
    if counted != target:
        raise RuntimeError(f"(i) {v.label}: {counted} counted of {target} events")
    v.events += events
    v.fed = target


async def _until_consumed(v: Variant, database_url: str, target: int) -> None:
    conn = await asyncpg.connect(_plain(database_url))
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            done = await conn.fetchval(
                "SELECT coalesce(sum(next_offset), 0) FROM evaluator.consumer_offsets"
                " WHERE group_id = $1",
                f"{v.prefix}evaluator.metrics",
            )
            if done >= target:
                return
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    raise TimeoutError(f"(i) {v.label}: {target} events not consumed after 300s")


def _status(v: Variant, tenant: BenchTenant) -> float | None:
    """The count KPI's actual as that evaluator answers it (None until it knows the KPI)."""
    assert v.svc is not None
    url = f"{v.svc.url}/v1/kpis/{THROUGHPUT_KPI}/status"
    resp = httpx.get(url, headers=tenant.admin, timeout=10)
    if resp.status_code != 200:
        return None
    return float(resp.json().get("actual") or 0)


async def _until(ready: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if await asyncio.to_thread(ready):  # type: ignore[arg-type]
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError(f"(i) {what}: not after {timeout_s:.0f}s")


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name
