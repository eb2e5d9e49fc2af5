"""(b) Ingest HTTP throughput against the real metrics-ingest: single-event requests and
100-event batches from 32 keep-alive connections, each for a fixed time, every request
answered 202."""

import uuid
from datetime import UTC, datetime

from bench.load import bodies, closed_loop
from bench.table import Row
from bench.tenant import THROUGHPUT_METRIC, BenchTenant, service_url

CONCURRENCY = 32
SINGLE_S = 20.0
BATCH_S = 15.0
BATCH = 100


def event(
    run: str, n: object, metric: str = THROUGHPUT_METRIC, value: float = 1
) -> dict[str, object]:
    return {
        "id": f"bench-{run}-{n}",
        "metric": metric,
        "value": value,
        "time": datetime.now(UTC).isoformat(),
        "dimensions": {"region": "emea"},
    }


async def measure(tenant: BenchTenant) -> list[Row]:
    url = f"{service_url('ingest')}/v1/events"
    run = uuid.uuid4().hex[:8]
    single_bodies = bodies(lambda n: [event(run, f"s{n}", "bench.single")])
    single = await closed_loop(url, tenant.ingest, single_bodies, CONCURRENCY, SINGLE_S)
    batch_bodies = bodies(lambda n: [event(run, f"b{n}-{i}", "bench.batch") for i in range(BATCH)])
    batched = await closed_loop(url, tenant.ingest, batch_bodies, CONCURRENCY, BATCH_S)
    return [
        Row(
            "(b) ingest, single-event requests",
            single.rate(),
            "requests/s",
            ">= 1,500",
            single.rate() >= 1500,
        ),
        Row("(b) ingest, single-event p99", single.pct(0.99) * 1000, "ms"),
        Row("(b) ingest, 100-event batches", batched.rate() * BATCH, "events/s"),
        Row("(b) ingest, 100-event batch p99", batched.pct(0.99) * 1000, "ms"),
    ]
