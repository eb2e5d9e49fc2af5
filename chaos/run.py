"""One run of the fault suite: start the stack, load it, inject the faults one after another,
drain, then check everything against what was acknowledged."""

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from kpi_common.topic_reads import read_topic
from kpi_common.topics import KPI_BREACHES

from chaos import faults, verify
from chaos.changes import StrategyChanges, steady_kpis, wait_recomputed
from chaos.load import BreachRounds, Intake, Sender, SteadyLoad
from chaos.observe import wait_caught_up
from chaos.report import Report, progress
from chaos.stack import CLUSTER, NAMES, SINGLE, Shape, Stack
from chaos.tenant import Tenant, create


@dataclass(frozen=True)
class Plan:
    repeats: int  # how many times each fault is injected
    hold_s: float  # how long a killed component stays down
    settle_s: float  # steady load between two faults
    change_s: float  # between two strategy changes (each triggers a recompute)
    workers: int = 2
    batch: int = 20
    interval_s: float = 0.1
    cluster: bool = False  # three brokers and replicas (stack.CLUSTER), cluster faults
    short_form: bool = False

    @classmethod
    def short(cls, *, cluster: bool = False) -> "Plan":
        return cls(1, hold_s=0.5, settle_s=0.5, change_s=3.0, cluster=cluster, short_form=True)

    @classmethod
    def full(cls, *, cluster: bool = False) -> "Plan":
        repeats, hold_s, settle_s = (2, 2.0, 2.0) if cluster else (3, 3.0, 5.0)
        return cls(
            repeats, hold_s=hold_s, settle_s=settle_s, change_s=10.0, batch=40, cluster=cluster
        )

    @property
    def shape(self) -> Shape:
        return CLUSTER if self.cluster else SINGLE

    def faults(self) -> list[faults.Fault]:
        if self.cluster:
            return faults.cluster_plan(self.repeats, short=self.short_form)
        return faults.plan(self.repeats)


async def run(plan: Plan, workdir: Path, say: Callable[[str], None] = print) -> Report:
    started = time.monotonic()
    stack = Stack(workdir, plan.shape)
    try:
        say(f"starting PostgreSQL, Kafka, an SMTP sink and the four services in {workdir}")
        await stack.start()
        urls = {n: stack.url(n) for n in NAMES}
        replicas = {n: stack.urls(n) for n in NAMES}
        tenant = await create(urls, stack.operator_token, replicas)
        say(f"stack and tenant ready after {time.monotonic() - started:.1f}s; load running")
        report = await _load_and_break(plan, stack, tenant, say)
    finally:
        await asyncio.to_thread(stack.stop)
    report.wall_s = time.monotonic() - started
    return report


async def _load_and_break(
    plan: Plan, stack: Stack, tenant: Tenant, say: Callable[[str], None]
) -> Report:
    intake = Intake()
    sender = Sender(tenant, intake)
    load = SteadyLoad(sender, plan.workers, plan.batch, plan.interval_s)
    rounds = BreachRounds(sender, tenant)
    changes = StrategyChanges(tenant, plan.change_s)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(t.run(stop)) for t in (load, rounds, changes)]
    try:
        outcomes = await _inject_all(plan, stack, intake, rounds, tasks, say)
        say("draining: the last batches and breach round, then the evaluator's backlog")
        intake.drain_deadline = time.monotonic() + 90
        stop.set()
        await asyncio.gather(*tasks)
        await wait_caught_up(stack)
        recomputes = await wait_recomputed(tenant, changes.final)
        checked = await _check(stack, tenant, intake, load.generated, rounds, outcomes, changes)
        checked.recomputes = recomputes
        return checked
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await sender.close()


async def _inject_all(
    plan: Plan,
    stack: Stack,
    intake: Intake,
    rounds: BreachRounds,
    tasks: list["asyncio.Task[None]"],
    say: Callable[[str], None],
) -> list[faults.Outcome]:
    injector = faults.Injector(stack, intake, rounds, plan.hold_s)
    todo = plan.faults()
    outcomes = []
    await asyncio.sleep(plan.settle_s)
    for n, fault in enumerate(todo, 1):
        outcome = await injector.inject(fault)
        outcomes.append(outcome)
        say(progress(n, len(todo), outcome))
        await asyncio.sleep(plan.settle_s)
        for task in tasks:
            if task.done():
                task.result()  # a load task failed: stop here with its error
    return outcomes


async def _check(
    stack: Stack,
    tenant: Tenant,
    intake: Intake,
    generated: int,
    rounds: BreachRounds,
    outcomes: list[faults.Outcome],
    changes: StrategyChanges,
) -> Report:
    steady = steady_kpis(changes.final)  # every event counts under the final strategy
    stored = await verify.stored_actuals(tenant, sorted(steady))
    events = verify.check_events(intake, generated, stored, steady)
    published = await read_topic(stack.kafka.bootstrap, KPI_BREACHES.name)
    breaches = verify.check_breaches(rounds.rounds, published)
    want = verify.expected_keys(breaches, rounds.rounds)
    await _settled(stack, tenant, want)
    log = await _delivery_log(tenant, set(breaches.ids.values()))
    interrupts = faults.interrupts(outcomes)
    notices = verify.check_notices(want, stack.smtp.messages(), log, interrupts)
    report = Report(
        outcomes, events, intake.answers, intake.resends, intake.resend_accepted, breaches, notices
    )
    report.changes = changes.applied[1:]
    return report


async def _settled(stack: Stack, tenant: Tenant, want: set[str], timeout_s: float = 90.0) -> None:
    """Wait (bounded) until the notifier has nothing pending or sending and the SMTP sink
    holds a message for every expected dedup key."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        busy: list[Any] = [True]
        with contextlib.suppress(httpx.HTTPError):  # bounded: the next poll asks again
            busy = [
                row
                for status in ("pending", "sending")
                for row in await tenant.get("notifier", "/v1/notifications", status=status)
            ]
        if not busy and want <= set(verify.mail_keys(stack.smtp.messages())):
            return
        await asyncio.sleep(0.5)


async def _delivery_log(tenant: Tenant, breach_ids: set[str]) -> list[dict[str, Any]]:
    """Every delivery row of these breaches (one page per breach: the log pages at 1000)."""
    gate = asyncio.Semaphore(8)

    async def rows(breach_id: str) -> list[dict[str, Any]]:
        async with gate:
            page: list[dict[str, Any]] = await tenant.get(
                "notifier", "/v1/notifications", breach_id=breach_id, limit=1000
            )
            return page

    pages = await asyncio.gather(*(rows(b) for b in sorted(breach_ids)))
    return [row for page in pages for row in page]
