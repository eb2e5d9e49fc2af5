"""The load of (j): a tenant of its own whose metrics land one on each partition of
`metrics.events` (events are keyed by tenant and metric, so the one metric of (c) would keep a
second evaluator replica idle), an open-loop sender of 100-event batches, and the evaluator's
lag read from where it is decided: each partition's end in Kafka minus the offset the
evaluators stored in PostgreSQL with their last batch (whichever replica owns it)."""

import asyncio
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner
from kpi_cli.client import check
from kpi_common.topic_reads import end_offsets
from kpi_common.topics import METRICS_EVENTS

from bench.load import Connection, accepted
from demo.tenant import new_ingest_key, wait_until

BATCH = 100
MAX_CONNECTIONS = 64  # open loop, but bounded: past this the sender falls behind (and fails)


@dataclass(frozen=True)
class SpreadTenant:
    tenant_id: str
    admin_key: str
    ingest_key: str
    metrics: tuple[str, ...]  # one per partition of metrics.events

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ingest_key}", "Content-Type": "application/json"}


def metrics_per_partition(tenant_id: str, partitions: int) -> tuple[str, ...]:
    """Metric names whose key `tenant_id:metric` lands on partitions 0..n-1 in turn (Kafka's
    default partitioner, as ingest's producer)."""
    found: dict[int, str] = {}
    n = 0
    while len(found) < partitions:
        name = f"bench.sustained.m{n}"
        key = f"{tenant_id}:{name}".encode()
        found.setdefault(DefaultPartitioner()(key, list(range(partitions)), []), name)
        n += 1
    return tuple(found[p] for p in range(partitions))


def create_tenant(goals: str, operator_token: str, partitions: int) -> SpreadTenant:
    run = uuid.uuid4().hex[:8]
    auth = {"Authorization": f"Bearer {operator_token}"}
    body = {"slug": f"bench-sustained-{run}"}
    created = check(httpx.post(f"{goals}/v1/tenants", json=body, headers=auth, timeout=30))
    admin = created["admin_api_key"]
    metrics = metrics_per_partition(created["tenant_id"], partitions)
    doc = strategy(run, metrics)
    headers = {"Authorization": f"Bearer {admin}"}
    check(httpx.put(f"{goals}/v1/strategy", json=doc, headers=headers, timeout=60))
    ingest = new_ingest_key(goals, admin, "bench-sustained")
    return SpreadTenant(created["tenant_id"], admin, ingest, metrics)


def wait_known(tenant: SpreadTenant, ingest: str, evaluator: str) -> None:
    """Until ingest takes the key and the evaluator knows the last KPI."""
    post = f"{ingest}/v1/events"
    wait_until(
        "ingest to learn the key",
        lambda: httpx.post(post, content=b"[]", headers=tenant.headers).status_code == 202,
    )
    last = f"{evaluator}/v1/kpis/{kpi_id(len(tenant.metrics) - 1)}/status"
    headers = {"Authorization": f"Bearer {tenant.admin_key}"}
    known = lambda: httpx.get(last, headers=headers).is_success  # noqa: E731
    wait_until("evaluator to learn the strategy", known)


def kpi_id(n: int) -> str:
    return f"bench-sustained-{n}"


def strategy(run: str, metrics: tuple[str, ...]) -> dict[str, Any]:
    """One `count` KPI per metric, no alert routes (nothing for the notifier to send)."""
    owner = {"unit": "bench", "owner": "ops"}
    kpis = [
        {
            **owner,
            "so_that": "keep-up",
            "id": kpi_id(n),
            "title": f"Sustained events {n}",
            "perspective": "internal_process",
            "measure": {"metric": metric, "aggregation": "count"},
            "period": "year",
            "direction": "increase",
            "unit_of_measure": "events",
            "target": 1_000_000_000_000,
        }
        for n, metric in enumerate(metrics)
    ]
    return {
        "version": 1,
        "organization": {"name": f"Bench sustained {run}", "timezone": "UTC"},
        "units": [{"id": "bench", "name": "Bench"}],
        "people": [{"id": "ops", "name": "Ops", "unit": "bench", "email": "ops@bench.example"}],
        "goals": [
            {**owner, "id": "keep-up", "title": "Keep up", "perspective": "internal_process"}
        ],
        "kpis": kpis,
    }


def body(tenant: SpreadTenant, run: str, k: int) -> bytes:
    """Request k: 100 events spread over the metrics in turn."""
    now = datetime.now(UTC).isoformat()
    metrics = tenant.metrics
    return orjson.dumps(
        [
            {
                "id": f"bench-sustained-{run}-{k}-{i}",
                "metric": metrics[(k * BATCH + i) % len(metrics)],
                "value": 1,
                "time": now,
                "dimensions": {"region": "emea"},
            }
            for i in range(BATCH)
        ]
    )


@dataclass
class Sent:
    """What a paced run got: events accepted, requests that failed and the first failure."""

    accepted: int = 0
    failed: int = 0
    error: str = ""


async def paced(url: str, tenant: SpreadTenant, rate: float, seconds: float, out: Sent) -> None:
    """Open loop: batch k is due at start + k * BATCH / rate. Counts into `out` as it goes (a
    cancelled probe keeps what was accepted); a failed request is counted, not raised."""
    run, idle, busy = uuid.uuid4().hex[:8], list[Connection](), set[asyncio.Task[None]]()
    start = time.perf_counter()
    k = 0
    try:
        while (due := start + k * BATCH / rate) < start + seconds:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if not idle and len(busy) >= MAX_CONNECTIONS:
                await asyncio.wait(busy, return_when=asyncio.FIRST_COMPLETED)
            conn = idle.pop() if idle else Connection(url, tenant.headers)
            task = asyncio.create_task(_send(conn, body(tenant, run, k), out, idle))
            busy.add(task)
            task.add_done_callback(busy.discard)
            k += 1
        await asyncio.gather(*busy)
    finally:
        for task in busy:
            task.cancel()
        await asyncio.gather(*(c.close() for c in idle))


async def _send(conn: Connection, payload: bytes, out: Sent, idle: list[Connection]) -> None:
    try:
        answer = await conn.post(payload)  # not inside `+=`: it would add to a stale count
        took = accepted(*answer)
    except (OSError, RuntimeError, asyncio.IncompleteReadError) as failed:
        out.failed += 1
        out.error = out.error or str(failed)[:200]
        await conn.close()
        return
    out.accepted += took
    idle.append(conn)


class LagReader:
    """The evaluator's lag on `metrics.events`: Kafka's end offsets minus the offsets stored
    in the evaluator's database (`evaluator.consumer_offsets`, group `<prefix>evaluator.
    metrics`), summed over the partitions; one consumer and one connection, reused."""

    def __init__(self, bootstrap: str, database_url: str, prefix: str) -> None:
        self._bootstrap = bootstrap
        self._dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
        self.topic = METRICS_EVENTS.qualified(prefix)
        self._group = f"{prefix}evaluator.metrics"
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self._conn: asyncpg.Connection | None = None
        self.partitions: list[TopicPartition] = []

    async def start(self) -> None:
        self.partitions = sorted(await end_offsets(self._bootstrap, self.topic))
        await self._consumer.start()
        self._conn = await asyncpg.connect(self._dsn)

    async def stop(self) -> None:
        await self._consumer.stop()
        if self._conn is not None:
            await self._conn.close()

    async def lag(self) -> int:
        assert self._conn is not None
        ends = await self._consumer.end_offsets(self.partitions)
        rows = await self._conn.fetch(
            "SELECT partition, next_offset FROM evaluator.consumer_offsets"
            " WHERE group_id = $1 AND topic = $2",
            self._group,
            self.topic,
        )
        stored = {int(r["partition"]): int(r["next_offset"]) for r in rows}
        return sum(max(0, end - stored.get(tp.partition, 0)) for tp, end in ends.items())

    async def drained(self, timeout_s: float, at_most: int = 0) -> int:
        """Wait (bounded) until the lag is at most `at_most`; returns the last lag read."""
        deadline = time.monotonic() + timeout_s
        while (lag := await self.lag()) > at_most and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        return lag


def database_url() -> str:
    return os.environ["KPI_DATABASE_URL"]
