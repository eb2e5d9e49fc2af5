"""The API client layer: GET a read route of another service with the viewer's own key.

Every rule (tenant isolation, roles, what a viewer may see) stays in the owning service; this
module only turns its answers into data or into one of three named failures.
"""

from collections.abc import Mapping
from typing import Any

import httpx

from kpi_web.config import DEFAULT_PORTS, Settings

Params = Mapping[str, str | list[str]]


class UpstreamError(Exception):
    """A read that did not give data; `status` is what the page answers."""

    status = 502

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotSignedIn(UpstreamError):
    """The key was refused (unknown, revoked): the viewer must sign in again."""

    status = 401


class Forbidden(UpstreamError):
    """The key is valid but its role may not read this (an ingest key)."""

    status = 403


class NotFound(UpstreamError):
    status = 404


class Unavailable(UpstreamError):
    """The service did not answer, answered too late, or failed (5xx)."""

    status = 503


_BY_STATUS: dict[int, type[UpstreamError]] = {401: NotSignedIn, 403: Forbidden, 404: NotFound}


class Upstream:
    """One pooled HTTP client for the three services the pages read."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self._bases = {name: settings.url_of(name) for name in DEFAULT_PORTS}
        self._http = httpx.AsyncClient(timeout=settings.upstream_timeout_s, transport=transport)

    async def get(self, service: str, path: str, key: str, params: Params | None = None) -> Any:
        """The JSON answer of `GET path` on `service`, or an `UpstreamError`."""
        url = self._bases[service] + path
        headers = {"Authorization": f"Bearer {key}"}
        try:
            answer = await self._http.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise Unavailable(f"{service} did not answer ({type(exc).__name__})") from exc
        if answer.status_code >= 400:
            raise _failure(service, answer)
        return answer.json()

    async def alive(self, service: str) -> bool:
        try:
            answer = await self._http.get(self._bases[service] + "/healthz")
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    async def aclose(self) -> None:
        await self._http.aclose()


def _failure(service: str, answer: httpx.Response) -> UpstreamError:
    kind = _BY_STATUS.get(answer.status_code)
    if kind is not None:
        return kind(_message(answer))
    if answer.status_code >= 500:
        return Unavailable(f"{service} failed ({answer.status_code}); retry later")
    return UpstreamError(f"{service} refused the read ({answer.status_code}): {_message(answer)}")


def _message(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return str(body)[:200]
