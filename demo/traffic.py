"""The demo's traffic: a seeded quarter with planted breaches, replayed day by day through
the real source adapters of metrics-ingest, with the demo clock following the replay."""

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from kpi_cli.feed_delivery import Sender, Tally
from kpi_cli.feeds import Raw, Transport, render
from kpi_cli.simulation import Simulation, Targets
from kpi_common.kafka import create_producer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from demo import stack
from demo.clock import DEMO_NOW, QUARTER_START, FileClock, set_clock
from demo.tenant import DemoTenant, wait_until

SEED = 2026
# what the demo plants, so every status shows up on the scorecard
PLANTS = {
    "new-clients": "breach",  # off_track: 45% of the pace -> a breach, email + #sales
    "cash-flow": "breach",  # off_track -> a breach, email + #finance; its burn-rate rule fires
    # both regions short: revenue (they contribute to it) breaches too -> one incident
    "revenue-emea": "breach",
    "revenue-amer": "breach",
    "ar-days": "at_risk",  # 5% slower than the 30-day target
    "qualified-leads": "achieved",  # the quarter's 200 already reached
    "engagement": "silent",  # the survey never ran: no data
    "bounce-rate": "stale",  # the web analytics feed stopped 4 days ago
}
DEBEZIUM: tuple[Transport, ...] = ("payments", "ledger")
LAG_METRIC = "evaluator_consumer_lag_messages{"
BOOTSTRAP = os.environ.get("KPI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")


def simulated_events(strategy: Path, targets: Targets) -> list[dict[str, Any]]:
    """The quarter's traffic, each KPI's periods and targets from `targets` (goals)."""
    doc = yaml.safe_load(strategy.read_text())
    sim = Simulation(doc, DEMO_NOW, targets, seed=SEED, plants=PLANTS, since=QUARTER_START)
    return sim.events()


def by_day(events: list[dict[str, Any]]) -> Iterator[tuple[datetime, list[Raw]]]:
    """Raw items per replayed day, with the end of that day (the clock while sending it)."""
    for day, group in groupby(events, key=lambda e: str(e["time"])[:10]):
        end = datetime.fromisoformat(f"{day}T00:00:00+00:00") + timedelta(days=1)
        yield min(end, DEMO_NOW), [render(e) for e in group]


def replay(console: Console, tenant: DemoTenant, events: list[dict[str, Any]]) -> Tally:
    return asyncio.run(_replay(console, tenant, events))


async def _replay(console: Console, tenant: DemoTenant, events: list[dict[str, Any]]) -> Tally:
    await _raw_topics(tenant)
    producer = create_producer(BOOTSTRAP)
    await producer.start()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    try:
        async with httpx.AsyncClient(base_url=tenant.urls.ingest_url, timeout=60) as http:
            clock = FileClock(stack.CLOCK_FILE)
            sender = Sender(http, producer, tenant.feeds, tenant.ingest_key, clock)
            with Progress(*columns, console=console) as bar:
                task = bar.add_task("replaying 2026-01-01", total=len(events))
                for end, raws in by_day(events):
                    set_clock(stack.CLOCK_FILE, end)
                    bar.update(task, description=f"replaying {end:%Y-%m-%d}")
                    await sender.send(raws)
                    bar.advance(task, len(raws))
    finally:
        await producer.stop()
    set_clock(stack.CLOCK_FILE, DEMO_NOW)
    return sender.tally


async def _raw_topics(tenant: DemoTenant) -> None:
    """The topics the ERP's Debezium connector writes to (a connector would create them)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        for transport in DEBEZIUM:
            topic = NewTopic(tenant.feeds.topic(transport), num_partitions=1, replication_factor=1)
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([topic])
    finally:
        await admin.close()


def wait_for_cdc(tenant: DemoTenant, timeout_s: float = 120) -> None:
    """Until metrics-ingest's Debezium consumers committed every row written to the topics."""
    try:
        asyncio.run(asyncio.wait_for(_cdc_caught_up(tenant), timeout_s))
    except TimeoutError:
        raise RuntimeError(
            f"metrics-ingest did not consume the Debezium rows in {timeout_s:.0f}s; "
            f"see {stack.RUN}/metrics-ingest.log"
        ) from None


async def _cdc_caught_up(tenant: DemoTenant) -> None:
    prefix = os.environ.get("KPI_TOPIC_PREFIX", "")
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await consumer.start()
        for transport in DEBEZIUM:
            tp = TopicPartition(tenant.feeds.topic(transport), 0)
            end = (await consumer.end_offsets([tp]))[tp]
            source_id = tenant.feeds.source_id(transport)
            group = f"{prefix}metrics-ingest.cdc.{source_id}"
            while (await _committed(admin, group, tp)) < end:  # noqa: ASYNC110 (another process)
                await asyncio.sleep(0.5)
    finally:
        await consumer.stop()
        await admin.close()


async def _committed(admin: AIOKafkaAdminClient, group: str, tp: TopicPartition) -> int:
    offsets = await admin.list_consumer_group_offsets(group)
    meta = offsets.get(tp)
    return -1 if meta is None else int(meta.offset)


def wait_for_evaluation(console: Console, tenant: DemoTenant) -> None:
    """Until the scorecard stops changing, the breach `for` duration has passed, and the
    notifier has delivered (or given up on) everything it planned."""
    console.print("waiting for the evaluator to fold the quarter in ...")
    wait_until("the evaluator to catch up with metrics.events", lambda: _no_lag(tenant))
    _steady(lambda: _statuses(tenant), polls=3)
    console.print(f"  ... and for breaches that last {stack.BREACH_FOR_S:.0f}s to open")
    time.sleep(stack.BREACH_FOR_S + 3 * stack.TICK_S)
    _steady(lambda: _statuses(tenant), polls=2)
    console.print("waiting for the notifier to deliver ...")
    _steady(lambda: _deliveries(tenant), polls=3, until=lambda got: not _in_flight(got))


def _no_lag(tenant: DemoTenant) -> bool:
    """The evaluator reports its lag on metrics.events, and it is 0."""
    text = httpx.get(f"{tenant.urls.evaluator_url}/metrics", timeout=10).text
    lags = [line for line in text.splitlines() if line.startswith(LAG_METRIC)]
    return bool(lags) and all(float(line.rsplit(" ", 1)[1]) == 0 for line in lags)


def _statuses(tenant: DemoTenant) -> Any:
    """What settles: each KPI's status and actual (expected and forecast move with time)."""
    return [(k["id"], k["status"], k["actual"]) for k in tenant.scorecard()["kpis"]]


def _deliveries(tenant: DemoTenant) -> Any:
    log = tenant.notifications()
    return log if isinstance(log, list) else log.get("notifications", [])


def _in_flight(items: Any) -> bool:
    return any(n.get("status") in ("pending", "sending") for n in items)


def _steady(read: Any, polls: int, until: Any = None, timeout_s: float = 120) -> None:
    last: Any = None
    steady = 0
    deadline = time.monotonic() + timeout_s
    while steady < polls and time.monotonic() < deadline:
        time.sleep(1.0)
        try:
            now = read()
        except httpx.HTTPError:
            continue
        settled = now == last and (until is None or until(now))
        steady = steady + 1 if settled else 0
        last = now
