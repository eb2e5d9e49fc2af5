"""Composition root of the metrics-ingest service: builds infrastructure once, wires it in."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from kpi_common.http import OrjsonResponse, install_common
from kpi_common.kafka import BatchConsumer, dead_letter_topic
from kpi_common.runtime import serve
from kpi_common.service import ServiceRuntime
from kpi_common.topics import GOALS_CHANGES, METRICS_DEAD_LETTER, METRICS_EVENTS

from kpi_ingest import api
from kpi_ingest.claims import ClaimPool
from kpi_ingest.config import SCHEMA, SERVICE, Settings
from kpi_ingest.gate import KafkaGate
from kpi_ingest.ingest import Clock, Intake, Retention, probe_kafka, prune_loop, utcnow
from kpi_ingest.keycache import GoalsChangesHandler, KeyCache
from kpi_ingest.ratelimit import RateLimiter
from kpi_ingest.sources import api as sources_api
from kpi_ingest.sources.debezium import DebeziumRunner
from kpi_ingest.sources.pipeline import SourcePipeline
from kpi_ingest.sources.webhooks import Webhooks

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Components:
    """Everything the process holds, built once here and passed in."""

    runtime: ServiceRuntime
    claims: ClaimPool
    keys: KeyCache
    gate: KafkaGate
    deps: api.Deps
    webhooks: Webhooks
    cdc: DebeziumRunner


def create_app(settings: Settings | None = None, *, clock: Clock = utcnow) -> FastAPI:
    c = build(settings or Settings(), clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await c.runtime.start()
        await c.claims.open()
        await c.keys.refresh()
        _spawn_loops(c, clock)
        app.state.runtime = c.runtime
        try:
            yield
        finally:
            await c.runtime.stop()
            await c.claims.close()

    app = FastAPI(
        title="kpi-cascade metrics-ingest",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
    )
    api.install(app, c.deps)  # first: its lean path must sit inside the request metrics
    install_common(app, SERVICE, c.runtime.readiness)
    app.include_router(sources_api.build_router(c.deps, c.runtime.sessions, c.webhooks))
    return app


def build(settings: Settings, clock: Clock) -> Components:
    runtime = ServiceRuntime(
        name=SERVICE,
        settings=settings,
        schema=SCHEMA,
        migrations=MIGRATIONS,
        pool_size=settings.db_pool_size,
    )
    claims = ClaimPool(settings.database_url, settings.intake_workers)
    keys = KeyCache(runtime.engine, settings.key_refresh_s)
    gate = KafkaGate(settings.kafka_retry_after_s)
    intake = Intake(
        claims=claims,
        kafka=runtime.kafka,
        gate=gate,
        topic=runtime.topic(METRICS_EVENTS.name),
        clock=clock,
    )
    limiter = RateLimiter(settings.rate_events_per_s, settings.rate_burst)
    deps = api.Deps(settings=settings, keys=keys, limiter=limiter, intake=intake, clock=clock)
    webhooks, cdc = _build_sources(runtime, settings, intake, clock)
    return Components(runtime, claims, keys, gate, deps, webhooks, cdc)


def _build_sources(
    runtime: ServiceRuntime, settings: Settings, intake: Intake, clock: Clock
) -> tuple[Webhooks, DebeziumRunner]:
    pipeline = SourcePipeline(
        sessions=runtime.sessions,
        intake=intake,
        kafka=runtime.kafka,
        dead_letter_topic=runtime.topic(METRICS_DEAD_LETTER.name),
        limits=api.limits_of(settings),
        clock=clock,
    )
    webhooks = Webhooks(
        sessions=runtime.sessions,
        pipeline=pipeline,
        tolerance_s=settings.webhook_tolerance_s,
        clock=clock,
    )
    cdc = DebeziumRunner(
        sessions=runtime.sessions,
        pipeline=pipeline,
        bootstrap=settings.kafka_bootstrap,
        group_prefix=settings.topic_prefix,
        refresh_s=settings.cdc_refresh_s,
    )
    return webhooks, cdc


def _spawn_loops(c: Components, clock: Clock) -> None:
    settings = c.deps.settings
    retention = Retention(
        horizon=timedelta(days=settings.dedup_horizon_days),
        rejects=timedelta(days=settings.reject_retention_days),
    )
    sup = c.runtime.supervisor
    sup.spawn("key-cache", c.keys.run)
    for n in range(settings.intake_workers):
        sup.spawn(f"intake-{n}", c.deps.intake.run_worker)
    sup.spawn("goals-changes", lambda: _consume_goals(c.runtime, c.keys))
    sup.spawn("kafka-probe", lambda: probe_kafka(c.runtime.kafka, c.gate, settings.kafka_probe_s))
    sup.spawn(
        "dedup-prune",
        lambda: prune_loop(c.runtime.sessions, retention, settings.dedup_prune_interval_s, clock),
    )
    sup.spawn("cdc-sources", c.cdc.run)


async def _consume_goals(runtime: ServiceRuntime, keys: KeyCache) -> None:
    """Learn tenants and keys from goals.changes, from the beginning, in our own group."""
    await runtime.kafka.connected.wait()
    prefix = runtime.settings.topic_prefix
    consumer = BatchConsumer(
        bootstrap=runtime.settings.kafka_bootstrap,
        topics=[GOALS_CHANGES.qualified(prefix)],
        group_id=f"{prefix}{SERVICE}.keys",
        producer=runtime.kafka.producer,
        dead_letter_topic=dead_letter_topic(prefix),
        handler=GoalsChangesHandler(runtime.sessions, keys),
        service=SERVICE,
    )
    try:
        await consumer.start()
        await consumer.run()
    finally:
        await consumer.stop()


def run() -> None:
    settings = Settings()
    serve(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    run()
