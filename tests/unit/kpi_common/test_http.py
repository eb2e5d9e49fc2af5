"""The shared error handlers: an unreachable database is a 503 with Retry-After that a client
retries; any other database error stays a 500 (a bug to fix, not to retry)."""

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from kpi_common.http import Readiness, install_common
from sqlalchemy.exc import (
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout


def app_raising(exc: Exception) -> FastAPI:
    app = FastAPI()
    install_common(app, "test-http", Readiness())

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    return app


async def get(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        return await http.get("/boom")


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        InterfaceError("SELECT 1", {}, Exception("connection is closed")),
        PoolTimeout("QueuePool limit reached"),
        asyncpg.InternalClientError("cannot switch to state 15; another operation is running"),
        InternalError("SELECT 1", {}, Exception("cannot switch to state 15")),
        asyncpg.InterfaceError("connection is closed"),
        OSError(113, "Multiple exceptions: No route to host"),
    ],
    ids=[
        "refused",
        "operational",
        "interface",
        "pool-timeout",
        "asyncpg-state-15",
        "wrapped-state-15",
        "asyncpg-closed",
        "bare-oserror",
    ],
)
async def test_an_unreachable_database_is_a_503_with_retry_after(exc: Exception) -> None:
    r = await get(app_raising(exc))
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "5"
    assert r.json()["error"]["code"] == "unavailable"


async def test_any_other_database_error_stays_a_500() -> None:
    r = await get(app_raising(IntegrityError("INSERT", {}, Exception("duplicate key"))))
    assert r.status_code == 500


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize("sqlstate", ["22021", "22P05"])
async def test_text_the_database_cannot_store_is_the_callers_422(sqlstate: str) -> None:
    r = await get(app_raising(DataError("SELECT $1", {}, _PgError(sqlstate))))
    assert r.status_code == 422
    assert "NUL" in r.json()["error"]["message"]
