"""Composition root of the web service: builds the HTTP client, the session store and the
page renderer once, and wires the routes. It owns no table and consumes no topic; readiness
is the three services it reads answering their /healthz."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from kpi_common.http import Readiness, install_common
from kpi_common.logging import configure_logging, get_logger
from kpi_common.runtime import serve
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from kpi_web import auth, reviews, views
from kpi_web.config import DEFAULT_PORTS, SERVICE, Settings
from kpi_web.gather import Clock, Gather, system_clock
from kpi_web.headers import SecurityHeaders
from kpi_web.render import Pages
from kpi_web.sessions import COOKIE, Sessions
from kpi_web.upstream import NotSignedIn, Upstream, UpstreamError
from kpi_web.web import Web

log = get_logger(__name__)


def build(
    settings: Settings, clock: Clock, transport: httpx.AsyncBaseTransport | None = None
) -> Web:
    upstream = Upstream(settings, transport)
    sessions = Sessions(settings.session_ttl_s, settings.max_sessions)
    return Web(settings, upstream, Gather(upstream, clock), sessions, Pages())


def readiness(w: Web) -> Readiness:
    checks = Readiness()
    for name in DEFAULT_PORTS:
        checks.add(name, lambda name=name: w.upstream.alive(name))  # type: ignore[misc]
    return checks


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = system_clock,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The app; tests pass a `transport` that answers for the other services, the demo its
    `clock`."""
    settings = settings or Settings()
    w = build(settings, clock, transport)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(SERVICE, settings.log_level, settings.log_format)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per upstream read
        # WeasyPrint warns of each CSS property it does not apply (the screen-only SVG rules)
        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        app.state.web = w
        try:
            yield
        finally:
            await w.upstream.aclose()

    # HTML only: no OpenAPI document, and no /docs (Swagger UI would load from a CDN)
    app = FastAPI(
        title="kpi-cascade web",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.web = w
    install_common(app, SERVICE, readiness(w))
    app.add_middleware(SecurityHeaders)
    _install_page_errors(app, w)
    app.include_router(auth.router)
    app.include_router(views.router)
    app.include_router(reviews.router)
    return app


def _install_page_errors(app: FastAPI, w: Web) -> None:
    @app.exception_handler(UpstreamError)
    async def upstream_error(request: Request, exc: UpstreamError) -> Response:
        if isinstance(exc, NotSignedIn):  # no session, or its key was revoked: sign in again
            w.sessions.close(request.cookies.get(COOKIE))
            target = quote(request.url.path, safe="/")
            return RedirectResponse(f"/login?next={target}", status_code=303)
        heading = {404: "Not found", 403: "Not allowed", 503: "Unavailable"}.get(exc.status)
        return w.pages.html(
            "error.html", exc.status, heading=heading or "Error", message=exc.message
        )

    @app.exception_handler(ValidationError)
    async def unreadable(request: Request, exc: ValidationError) -> Response:
        log.warning("unreadable answer from a service", path=request.url.path, error=str(exc))
        message = "A service answered something this page cannot read; see the web log."
        return w.pages.html("error.html", 502, heading="Error", message=message)


def run() -> None:
    settings = Settings()
    serve(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    run()
