"""(e) Latencies at half of (c): 100-event batches sent open loop at that rate (latency counted
from each request's scheduled time, so a stall is not hidden), and one planted breach every
`PLANT_EVERY_S` in a KPI of its own. For each planted event: until its kpi.status change is
seen on the topic (an aiokafka consumer), and until the SMTP sink received the email (the
sink names each file by its receive time in ns)."""

import asyncio
import os
import time
import uuid
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer
from kpi_common.topics import KPI_STATUS

from bench.ingest import BATCH, event
from bench.load import Connection, Result, accepted
from bench.table import Row
from bench.tenant import BREACH_KPIS, BenchTenant, breach_kpi, breach_metric, service_url

PLANT_EVERY_S = 0.75
MAIL_WAIT_S = 30.0
Times = dict[int, float]


async def measure(tenant: BenchTenant, rate: float, sinks: Path, bootstrap: str) -> list[Row]:
    watcher = StatusWatcher(tenant.tenant_id, bootstrap)
    try:
        await watcher.start()
        seconds = BREACH_KPIS * PLANT_EVERY_S
        load, planted = await asyncio.gather(paced(tenant, rate, seconds), plant(tenant))
        await asyncio.sleep(3)
        status = watcher.seen
    finally:
        await watcher.stop()
    mails = await asyncio.to_thread(wait_mails, sinks / "mail", tenant.run, len(planted))
    return rows(rate, load, _deltas(planted, status), _deltas(planted, mails), len(planted))


def rows(rate: float, load: Result, status: list[float], mail: list[float], n: int) -> list[Row]:
    p99 = load.pct(0.99) * 1000
    mail99 = _pct(mail, 0.99) * 1000
    return [
        Row("(e) offered load, half of (c)", rate, "events/s"),
        Row("(e) ingest latency p50", load.pct(0.5) * 1000, "ms"),
        Row("(e) ingest latency p99", p99, "ms", "<= 50", p99 <= 50),
        Row("(e) event-to-status p50", _pct(status, 0.5) * 1000, "ms"),
        Row(
            "(e) event-to-status p99",
            _pct(status, 0.99) * 1000,
            "ms",
            f"{n} seen",
            len(status) == n,
        ),
        Row("(e) event-to-notification p50", _pct(mail, 0.5) * 1000, "ms"),
        Row(
            "(e) event-to-notification p99",
            mail99,
            "ms",
            "<= 1,000",
            len(mail) == n and mail99 <= 1000,
        ),
    ]


async def paced(tenant: BenchTenant, rate: float, seconds: float) -> Result:
    """Open loop: batch k is due at start + k * BATCH / rate, whatever earlier ones do."""
    url = f"{service_url('ingest')}/v1/events"
    run, out, idle = uuid.uuid4().hex[:8], Result(), list[Connection]()
    start = time.perf_counter()
    tasks, k = [], 0
    while (due := start + k * BATCH / rate) < start + seconds:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        body = orjson.dumps([event(run, f"{k}-{i}") for i in range(BATCH)])
        conn = idle.pop() if idle else Connection(url, tenant.ingest)
        tasks.append(asyncio.create_task(_timed(conn, body, due, out, idle)))
        k += 1
    await asyncio.gather(*tasks)
    out.elapsed = time.perf_counter() - start
    await asyncio.gather(*(c.close() for c in idle))
    return out


async def _timed(
    conn: Connection, body: bytes, due: float, out: Result, idle: list[Connection]
) -> None:
    status, answer = await conn.post(body)
    out.latencies.append(time.perf_counter() - due)
    out.accepted += accepted(status, answer)
    idle.append(conn)


async def plant(tenant: BenchTenant) -> Times:
    """One over-budget event per breach KPI; returns when each was sent (epoch seconds)."""
    conn = Connection(f"{service_url('ingest')}/v1/events", tenant.ingest)
    sent: Times = {}
    for n in range(BREACH_KPIS):
        await asyncio.sleep(PLANT_EVERY_S)
        body = orjson.dumps([event(tenant.run, f"breach-{n}", breach_metric(n), 1000)])
        sent[n] = time.time()
        accepted(*await conn.post(body))
    await conn.close()
    return sent


class StatusWatcher:
    """Reads kpi.status and keeps when each planted KPI was first seen off track."""

    def __init__(self, tenant_id: str, bootstrap: str) -> None:
        topic = KPI_STATUS.qualified(os.environ.get("KPI_TOPIC_PREFIX", ""))
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"bench-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="latest",
        )
        self._tenant = tenant_id
        self._kpis = {breach_kpi(n): n for n in range(BREACH_KPIS)}
        self._task: asyncio.Task[None] | None = None
        self.seen: Times = {}

    async def start(self) -> None:
        await self._consumer.start()
        while not self._consumer.assignment():  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        for tp in self._consumer.assignment():
            await self._consumer.position(tp)  # pin "latest" before anything is planted
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for record in self._consumer:
            env = orjson.loads(record.value)
            n = self._kpis.get(env["data"].get("kpi_id"))
            mine = env["tenant_id"] == self._tenant and env["data"].get("status") == "off_track"
            if mine and n is not None and n not in self.seen:
                self.seen[n] = time.time()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self._consumer.stop()


def wait_mails(folder: Path, run: str, n: int) -> Times:
    """When the sink received each planted KPI's breach email (from the file names)."""
    deadline = time.monotonic() + MAIL_WAIT_S
    while True:
        got = _mails(folder, run)
        if len(got) >= n or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def _mails(folder: Path, run: str) -> Times:
    marker = f"Bench budget {run} "
    got: Times = {}
    for path in folder.glob("*.json"):
        subject = str(orjson.loads(path.read_bytes()).get("subject", ""))
        if marker in subject:
            n = int(subject.split(marker, 1)[1][:2])
            got.setdefault(n, int(path.name.split("-", 1)[0]) / 1e9)
    return got


def _deltas(sent: Times, seen: Times) -> list[float]:
    return [seen[n] - sent[n] for n in sent if n in seen]


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")
