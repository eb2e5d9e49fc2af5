"""Composition root of the goals service: builds the infrastructure once and wires it in."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from kpi_common.http import OrjsonResponse, install_common
from kpi_common.runtime import serve
from kpi_common.service import ServiceRuntime
from kpi_common.topics import GOALS_CHANGES

from kpi_goals.api import router
from kpi_goals.config import SCHEMA, SERVICE, Settings
from kpi_goals.handlers import Clock, Deps, republish_contract
from kpi_goals.models import outbox

MIGRATIONS = Path(__file__).parent / "migrations"


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings | None = None, clock: Clock = utc_now) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(name=SERVICE, settings=settings, schema=SCHEMA, migrations=MIGRATIONS)
    relay = runtime.outbox_relay(outbox)
    deps = Deps(
        sessions=runtime.sessions,
        topic=runtime.topic(GOALS_CHANGES.name),
        clock=clock,
        notify=relay.notify,
        settings=settings,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        await republish_contract(deps)
        runtime.supervisor.spawn("outbox-relay", relay.run)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="kpi-cascade goals",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
    )
    app.state.deps = deps
    app.state.relay = relay
    install_common(app, SERVICE, runtime.readiness)
    app.include_router(router)
    return app


def run() -> None:
    settings = Settings()
    serve(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    run()
