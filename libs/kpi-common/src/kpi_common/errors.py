"""Errors that carry their HTTP status, rendered in one place as one JSON shape.

{"error": {"code": "...", "message": "...", "errors": [{"path": "kpis[3].target", ...}]}}
"""

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class FieldError:
    """One problem with one field. `path` uses dotted/indexed form: `kpis[3].measure.metric`."""

    path: str
    message: str
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "message": self.message}
        if self.line is not None:
            out["line"] = self.line
        return out


@dataclass
class ApiError(Exception):
    status: int
    code: str
    message: str
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "errors": [e.as_dict() for e in self.errors],
            }
        }


class NotFound(ApiError):
    def __init__(self, what: str) -> None:
        super().__init__(404, "not_found", f"{what} not found")


class Unauthorized(ApiError):
    def __init__(self, message: str = "missing or invalid API key") -> None:
        super().__init__(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(403, "forbidden", message)


class Conflict(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(409, "conflict", message)


class Invalid(ApiError):
    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(422, "invalid", message, errors or [])


class Unavailable(ApiError):
    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(503, "unavailable", message, headers={"Retry-After": str(retry_after_s)})


def loc_to_path(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """Turn a pydantic `loc` into `kpis[3].measure.metric`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class ErrorFieldBody(BaseModel):
    path: str
    message: str
    line: int | None = None


class ErrorDetailBody(BaseModel):
    code: str
    message: str
    errors: list[ErrorFieldBody]


class ErrorBody(BaseModel):
    """The one error shape, as published in each service's OpenAPI."""

    error: ErrorDetailBody


_MEANINGS = {
    400: "malformed request",
    401: "missing, unknown or revoked credentials",
    403: "the key's role may not do this",
    404: "not found (also: another tenant's object)",
    409: "conflict",
    413: "request body over the limit",
    415: "unsupported content type",
    422: "invalid request, with each error's field path",
    429: "rate limited; see Retry-After",
    503: "a dependency is unavailable; see Retry-After",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error answers a route can give, each in the one shape."""
    return {s: {"model": ErrorBody, "description": _MEANINGS[s]} for s in statuses}
