"""Composition root of the evaluator service: builds the infrastructure once and wires it in."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from kpi_common.http import OrjsonResponse, install_common
from kpi_common.kafka import dead_letter_topic
from kpi_common.runtime import RelayHolder, serve
from kpi_common.service import ServiceRuntime
from kpi_common.topics import KPI_BREACHES, KPI_STATUS, METRICS_EVENTS

from kpi_evaluator import api
from kpi_evaluator.archive_fill import ArchiveFill, FillSource
from kpi_evaluator.archive_keeper import ArchiveKeeper
from kpi_evaluator.breaches import BreachPolicy
from kpi_evaluator.config import SCHEMA, SERVICE, Settings
from kpi_evaluator.consumers import ConsumerLoops, group_ids, utcnow
from kpi_evaluator.evaluation import EvaluationConfig, Evaluator
from kpi_evaluator.heap import HeapFreezer, tune_collector
from kpi_evaluator.models import outbox
from kpi_evaluator.pipeline import Clock, MetricsHandler, Ticker
from kpi_evaluator.recompute_jobs import RecomputeRunner
from kpi_evaluator.strategy import GoalsChangesHandler, StrategyCache

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class Parts:
    """What the lifespan starts; kept on `app.state.parts` for tests and the API."""

    runtime: ServiceRuntime
    strategies: StrategyCache
    loops: ConsumerLoops
    ticker: Ticker
    relay: RelayHolder
    archive: ArchiveKeeper
    recomputes: RecomputeRunner
    fill: ArchiveFill


def _evaluator(runtime: ServiceRuntime, settings: Settings) -> Evaluator:
    config = EvaluationConfig(
        status_topic=runtime.topic(KPI_STATUS.name),
        breaches_topic=runtime.topic(KPI_BREACHES.name),
        stale_after=settings.stale_after,
        policy=BreachPolicy(settings.breach_on, settings.breach_for, settings.breach_hysteresis),
        horizon_periods=settings.breach_horizon_periods,
    )
    return Evaluator(config, outbox)


def build(settings: Settings, clock: Clock, manage_heap: bool = False) -> Parts:
    runtime = ServiceRuntime(
        name=SERVICE,
        settings=settings,
        schema=SCHEMA,
        migrations=MIGRATIONS,
        pool_size=settings.db_pool_size,
    )
    strategies = StrategyCache(runtime.engine)
    evaluator = _evaluator(runtime, settings)
    relay = runtime.outbox_relay(outbox)
    strategy_group, metrics_group = group_ids(settings)
    sessions = runtime.sessions
    # the garbage collector is the process's: tuned by the process (`run`), not by an app
    # built inside another one (the tests' in-process evaluators)
    settle = HeapFreezer(lambda: strategies.builds).settle if manage_heap else lambda: None
    ticker = Ticker(sessions, strategies, evaluator, clock, settings.tick_s, relay.notify, settle)
    archive = ArchiveKeeper(
        sessions, settings.archive_retention_months, settings.archive_prune_interval_s, clock
    )

    def recomputed(tenants: Sequence[str]) -> None:  # outbox rows to relay; the new actuals'
        relay.notify()  # periods without a status row yet, ticked for those tenants only
        ticker.notify(tenants)

    source = FillSource(
        settings.kafka_bootstrap,
        METRICS_EVENTS.qualified(settings.topic_prefix),
        metrics_group,
        dead_letter_topic(settings.topic_prefix),
        settings.max_batch,
    )
    fill = ArchiveFill(runtime.engine, sessions, archive, runtime.kafka, source, clock)
    runner = RecomputeRunner(
        sessions,
        strategies,
        evaluator,
        clock,
        settings.recompute_poll_s,
        recomputed,
        archive_ready=fill.finished,  # recomputes wait for the archive fill (upgrades)
    )
    fill.on_done = runner.notify
    # a strategy change wakes the tick for the tenants it changed, so a new target or KPI
    # shows without waiting, and the recompute runner, for the KPIs whose actuals it changed
    goals = GoalsChangesHandler(sessions, strategy_group, ticker.notify, runner.notify)
    metrics = MetricsHandler(
        sessions, strategies, evaluator, archive, metrics_group, clock, relay.notify
    )
    loops = ConsumerLoops(runtime, settings, goals, metrics)
    return Parts(runtime, strategies, loops, ticker, relay, archive, runner, fill)


def create_app(
    settings: Settings | None = None, *, clock: Clock = utcnow, manage_heap: bool = False
) -> FastAPI:
    """`manage_heap`: tune and freeze this process's garbage collector (kpi_evaluator.heap);
    only the evaluator's own process (`run`) does."""
    settings = settings or Settings()
    parts = build(settings, clock, manage_heap)
    runtime, loops, ticker = parts.runtime, parts.loops, parts.ticker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        app.state.runtime = runtime
        sup = runtime.supervisor
        sup.spawn("goals-changes", loops.goals)
        sup.spawn("metrics-events", loops.metrics)
        sup.spawn("tick", ticker.run)
        sup.spawn("archive-retention", parts.archive.run)
        sup.spawn("recompute", parts.recomputes.run)
        sup.spawn("archive-fill", parts.fill.run)
        sup.spawn("outbox-relay", parts.relay.run)
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="kpi-cascade evaluator",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
    )
    app.state.parts = parts
    install_common(app, SERVICE, runtime.readiness)
    deps = api.Deps(
        runtime.engine,
        parts.strategies,
        clock,
        settings.stale_after,
        parts.recomputes.notify,
        archive_fill_group=group_ids(settings)[1],
    )
    api.install(app, deps)
    return app


def run() -> None:
    settings = Settings()
    tune_collector()
    serve(create_app(settings, manage_heap=True), settings.host, settings.port)


if __name__ == "__main__":
    run()
