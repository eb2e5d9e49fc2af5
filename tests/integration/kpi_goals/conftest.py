"""The goals app in-process (ASGI) on the session's real Postgres and Kafka, with a clock
the tests set, and helpers to make a tenant with keys."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from kpi_goals.config import Settings
from kpi_goals.main import create_app

from tests.conftest import Infra
from tests.support.strategy_events import ACME

OPERATOR = "operator-secret-for-tests"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Goals:
    app: FastAPI
    http: httpx.AsyncClient
    clock: Clock

    async def tenant(self, slug: str) -> "Tenant":
        resp = await self.http.post(
            "/v1/tenants", json={"slug": slug}, headers={"Authorization": f"Bearer {OPERATOR}"}
        )
        assert resp.status_code == 201, resp.text
        body = resp.json()
        return Tenant(self, body["tenant_id"], body["admin_api_key"])


@dataclass
class Tenant:
    goals: Goals
    tenant_id: str
    admin_key: str

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.admin_key}"}

    async def key(self, role: str, unit: str | None = None) -> str:
        body: dict[str, Any] = {"role": role}
        if unit is not None:
            body["unit"] = unit
        resp = await self.goals.http.post("/v1/api-keys", json=body, headers=self.auth())
        assert resp.status_code == 201, resp.text
        key: str = resp.json()["api_key"]
        return key

    async def apply(
        self, text: str | bytes, key: str | None = None, query: str = "", **headers: str
    ) -> httpx.Response:
        return await self.goals.http.put(
            f"/v1/strategy{query}",
            content=text,
            headers={"Content-Type": "application/yaml", **self.auth(key), **headers},
        )

    async def get(self, path: str, key: str | None = None) -> httpx.Response:
        return await self.goals.http.get(path, headers=self.auth(key))


def settings_for(infra: Infra, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": infra.database_url,
        "kafka_bootstrap": infra.kafka_bootstrap,
        "topic_prefix": infra.topic_prefix,
        "topic_partitions": 1,
        "operator_token": OPERATOR,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(scope="session")
async def goals(infra: Infra) -> AsyncIterator[Goals]:
    clock = Clock()
    app = create_app(settings_for(infra, max_kpis_per_objective=3), clock=clock)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://goals") as http:
            yield Goals(app, http, clock)


@pytest.fixture
async def acme(goals: Goals, unique: str) -> Tenant:
    """A fresh tenant with the acme strategy applied."""
    tenant = await goals.tenant(f"acme-{unique}")
    resp = await tenant.apply(ACME.read_bytes())
    assert resp.status_code == 200, resp.text
    return tenant


@pytest.fixture
async def goals_tenant(goals: Goals, unique: str) -> Tenant:
    """A fresh tenant with nothing applied yet."""
    return await goals.tenant(f"t-{unique}")
