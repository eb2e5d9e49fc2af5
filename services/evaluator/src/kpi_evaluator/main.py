"""Composition root of the evaluator service: builds the infrastructure once and wires it in."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse
from kpi_common.http import install_common
from kpi_common.runtime import serve
from kpi_common.service import ServiceRuntime

from kpi_evaluator.config import SCHEMA, SERVICE, Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(name=SERVICE, settings=settings, schema=SCHEMA, migrations=MIGRATIONS)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="kpi-cascade evaluator",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
    )
    install_common(app, SERVICE, runtime.readiness)
    return app


def run() -> None:
    settings = Settings()
    serve(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    run()
