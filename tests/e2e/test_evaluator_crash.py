"""The evaluator as a real process, SIGKILLed in the middle of a 20,000-event stream and
restarted: every actual equals the exact expected value (nothing lost, nothing counted twice),
because each batch and its offsets commit in one Postgres transaction."""

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kpi_common.calendar import FiscalCalendar
from kpi_common.events import Envelope
from kpi_common.kafka import ensure_topics
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import Infra
from tests.integration.kpi_evaluator.conftest import (
    make_settings,
    metric,
    publish_strategy,
    send_metrics,
    wait_until,
)
from tests.support.procs import service

pytestmark = pytest.mark.e2e

TOTAL = 20_000
DUPLICATES = 500
START = datetime(2026, 1, 1, tzinfo=UTC)
CAL = FiscalCalendar()


def stream(tenant: str) -> list[tuple[str, Envelope]]:
    """20,000 distinct events over the first half of 2026 on four measures (integer values,
    so sums are exact), then 500 of them sent again."""
    out = []
    for i in range(TOTAL):
        at = (START + timedelta(minutes=13 * i)).isoformat()
        kind = i % 4
        if kind == 0:
            dims: dict[str, Any] = {"region": "emea" if i % 3 else "amer"}
            out.append(metric(tenant, "erp.invoice.posted", i % 997, at, dims, f"e{i}"))
        elif kind == 1:
            dims = {"new_customer": i % 5 != 0}
            out.append(metric(tenant, "crm.deal.won", 1, at, dims, f"e{i}"))
        elif kind == 2:
            out.append(metric(tenant, "erp.invoice.paid", 1, at, {"days_to_pay": i % 61}, f"e{i}"))
        else:
            out.append(metric(tenant, "crm.customer.active", 1000 + i, at, None, f"e{i}"))
    return out + out[:: TOTAL // DUPLICATES]


def expected_buckets(events: Sequence[tuple[str, Envelope]]) -> dict[tuple[str, str, str], Any]:
    """(kpi, component, period) -> (count, total), computed independently of the evaluator."""
    out: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    seen: set[str] = set()
    for _, env in events:
        if env.id in seen:
            continue
        seen.add(env.id)
        d = env.data
        at = datetime.fromisoformat(d["time"])
        year, quarter = CAL.bucket("year", at).key, CAL.bucket("quarter", at).key
        keys: list[tuple[str, str, str, float]] = []
        if d["metric"] == "erp.invoice.posted":
            region = d["dimensions"]["region"]
            keys += [
                ("revenue", "value", year, d["value"]),
                (f"revenue-{region}", "value", year, d["value"]),
            ]
        elif d["metric"] == "crm.deal.won" and d["dimensions"]["new_customer"]:
            keys.append(("new-clients", "value", quarter, 1.0))
        elif d["metric"] == "erp.invoice.paid":
            keys.append(("ar-days", "value", quarter, d["dimensions"]["days_to_pay"]))
        elif d["metric"] == "crm.customer.active":
            keys.append(("churn-rate", "den", quarter, d["value"]))
        for kpi, component, period, value in keys:
            out[(kpi, component, period)][0] += 1
            out[(kpi, component, period)][1] += value
    return {k: (int(v[0]), v[1]) for k, v in out.items()}


async def stored_buckets(engine: AsyncEngine, tenant: str) -> dict[tuple[str, str, str], Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("""SELECT kpi_id, component, period_key, count, total FROM evaluator.buckets
                    WHERE tenant_id = :t AND component <> 'day'"""),
            {"t": tenant},
        )
        return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}


async def stored_actuals(engine: AsyncEngine, tenant: str) -> dict[tuple[str, str], float]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("""SELECT kpi_id, period_key, actual FROM evaluator.kpi_status
                    WHERE tenant_id = :t"""),
            {"t": tenant},
        )
        return {(r[0], r[1]): r[2] for r in rows}


async def consumed(engine: AsyncEngine, prefix: str) -> int:
    async with engine.connect() as conn:
        n = await conn.execute(
            text("""SELECT coalesce(sum(next_offset), 0) FROM evaluator.consumer_offsets
                    WHERE group_id = :g"""),
            {"g": f"{prefix}evaluator.metrics"},
        )
        return int(n.scalar_one())


async def test_sigkill_mid_stream_then_restart_gives_exact_actuals(
    infra: Infra, unique: str, service_env: dict[str, str], tmp_path: Path
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    settings = make_settings(infra, prefix)
    await ensure_topics(infra.kafka_bootstrap, prefix, 3)
    env = {
        **service_env,
        "KPI_TOPIC_PREFIX": prefix,
        "KPI_TOPIC_PARTITIONS": "3",
        "KPI_EVALUATOR_MAX_BATCH": "500",
    }
    svc = service("evaluator", env, tmp_path / "evaluator.log")
    engine = create_async_engine(infra.database_url)
    try:
        tenant = await publish_strategy(settings)
        events = stream(tenant.tenant_id)
        half = len(events) // 2
        svc.start()
        await asyncio.to_thread(svc.wait_ready)
        await send_metrics(settings, events[:half])

        async def part_done() -> bool:
            return await consumed(engine, prefix) >= 2_000

        await wait_until(part_done, 120)
        svc.kill()
        at_kill = await consumed(engine, prefix)
        assert 2_000 <= at_kill < len(events)
        await send_metrics(settings, events[half:])
        svc.start()
        await asyncio.to_thread(svc.wait_ready)

        async def all_done() -> bool:
            return await consumed(engine, prefix) >= len(events)

        await wait_until(all_done, 240)
        expected = expected_buckets(events)
        assert await stored_buckets(engine, tenant.tenant_id) == expected
        assert sum(n for (k, _, _), (n, _) in expected.items() if k == "revenue") == TOTAL // 4
        actuals = await stored_actuals(engine, tenant.tenant_id)
        assert actuals[("revenue", "2026")] == expected[("revenue", "value", "2026")][1]
        for q in ("2026-Q1", "2026-Q2"):
            n, total = expected[("ar-days", "value", q)]
            assert actuals[("ar-days", q)] == total / n
            assert actuals[("new-clients", q)] == expected[("new-clients", "value", q)][0]
    finally:
        svc.stop()
        await engine.dispose()
