"""One route served as plain ASGI, in front of the framework's routing.

`POST /v1/events` is the hot path: per single-event request, FastAPI's exception middleware,
exit stack, router, request object and endpoint wrapper cost about a third of the service's
CPU. `LeanRoute` sits among the app's middleware (inside the server-error middleware and the
request metrics, so 500s and metrics are what they are for every route), takes exactly one
method and path, and calls the same handler the documented FastAPI route calls, with the
request's `Headers` and body chunks. An exception is answered by the app's own exception
handlers, looked up as Starlette's exception middleware does, so the error answers are the
same bytes; one none handles propagates, as it would from the router. Every other request
goes on to the framework."""

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

Handler = Callable[[Headers, AsyncIterator[bytes]], Awaitable[Response]]


def serve_lean(app: Starlette, route: BaseRoute, handler: Handler, method: str = "POST") -> None:
    """Put a `LeanRoute` for `route` in front of the app's routing, its errors answered by
    the app's own exception handlers."""
    app.add_middleware(
        LeanRoute,
        method=method,
        route=route,
        handler=handler,
        exception_handlers=app.exception_handlers,
    )


class LeanRoute:
    def __init__(
        self,
        app: ASGIApp,
        *,
        method: str,
        route: BaseRoute,
        handler: Handler,
        exception_handlers: Mapping[Any, Callable[..., Any]],
    ) -> None:
        self.app = app
        self.method = method
        self.path: str = getattr(route, "path")  # noqa: B009  (BaseRoute declares no path)
        self.route = route
        self.handler = handler
        self.exception_handlers = exception_handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != self.method:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route  # what the request metrics label the request with
        try:
            response = await self.handler(Headers(scope=scope), body_chunks(receive))
        except Exception as exc:
            handle = self._handler_of(exc)
            if handle is None:
                raise
            response = handle(Request(scope, receive), exc)
            if inspect.isawaitable(response):
                response = await response
        await response(scope, receive, send)

    def _handler_of(self, exc: Exception) -> Callable[..., Any] | None:
        """Starlette's rule: an HTTPException's status first, then the exception's classes."""
        if isinstance(exc, HTTPException) and exc.status_code in self.exception_handlers:
            return self.exception_handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls in self.exception_handlers:
                return self.exception_handlers[cls]
        return None


async def body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The request body as it arrives, ending as Starlette's `Request.stream` does (a client
    that disconnects raises `ClientDisconnect`)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
