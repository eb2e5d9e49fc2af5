"""The suite's own tenant and strategy: small KPIs whose every actual is computable from the
events the load sent, and one KPI that is made to breach and recover, round after round.

- `chaos-sum` / `chaos-count`: sum and count of `chaos.amount` per day (past, closed days);
- `chaos-sum-a`: the sum of the events with `shard: a`, per year;
- `chaos-breach`: the sum of `chaos.breach` per day, target 100; a round sends 10 (off
  track: the breach opens), then 100 (achieved: it resolves). Its owner and a second person
  hear of each transition by email.

The steady KPIs have a target of 1 on closed periods, so they are achieved at their first
event and never breach: every breach transition on `kpi.breaches` is one a round caused.
While the faults run, `chaos/changes.py` applies other versions of the steady KPIs.
"""

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

YEAR = 2025  # closed periods only: nothing here depends on the clock
RECIPIENTS = {"olga": "olga@chaos.example", "wes": "wes@chaos.example"}
BREACH_KPI = "chaos-breach"
BREACH_TARGET = 100


def _kpi(
    kpi_id: str, measure: dict[str, Any], period: str, target: float, name: str
) -> dict[str, Any]:
    return {
        "id": kpi_id,
        "title": name,
        "unit": "ops",
        "owner": "olga",
        "so_that": "count-once",
        "perspective": "internal_process",
        "measure": measure,
        "period": period,
        "target": target,
    }


Definition = tuple[dict[str, Any], str]  # (measure, period) of a steady KPI
AMOUNT = "chaos.amount"
STEADY: dict[str, Definition] = {
    "chaos-sum": ({"metric": AMOUNT, "aggregation": "sum"}, "day"),
    "chaos-count": ({"metric": AMOUNT, "aggregation": "count"}, "day"),
    "chaos-sum-a": ({"metric": AMOUNT, "aggregation": "sum", "where": {"shard": "a"}}, "year"),
}
MARKED = "chaos-sum"  # its title names the strategy version (tells which one a service has)


def title(kpi_id: str, version: int) -> str:
    plain = kpi_id.replace("-", " ").capitalize()
    return f"{plain} v{version}" if kpi_id == MARKED else plain


def strategy(steady: dict[str, Definition] | None = None, version: int = 0) -> dict[str, Any]:
    """The suite's strategy: `steady` KPIs (by default `STEADY`) and the breach KPI."""
    kpis = [
        _kpi(kpi_id, measure, period, 1, title(kpi_id, version))
        for kpi_id, (measure, period) in (steady or STEADY).items()
    ]
    breach = {"metric": "chaos.breach", "aggregation": "sum"}
    return {
        "version": 1,
        "organization": {"name": "Chaos Ltd", "timezone": "UTC"},
        "units": [{"id": "ops", "name": "Operations"}],
        "people": [
            {"id": pid, "name": pid.capitalize(), "unit": "ops", "email": mail}
            for pid, mail in RECIPIENTS.items()
        ],
        "goals": [{"id": "count-once", "title": "Count every event exactly once", "unit": "ops"}],
        "kpis": [*kpis, _kpi(BREACH_KPI, breach, "day", 100, title(BREACH_KPI, version))],
        "alerts": {"routes": [{"match": {"kpi": BREACH_KPI}, "notify": ["owner", "wes"]}]},
    }


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    admin_key: str
    ingest_key: str
    urls: dict[str, str]  # one replica of each service (the first)
    replicas: dict[str, list[str]] = field(default_factory=dict)  # all of them, if several

    def urls_of(self, service: str) -> list[str]:
        """Every replica of `service`, for load to spread over."""
        return self.replicas.get(service) or [self.urls[service]]

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.admin_key}"}

    async def get(self, service: str, path: str, **params: Any) -> Any:
        async with httpx.AsyncClient(base_url=self.urls[service], timeout=10) as http:
            resp = await http.get(path, params=params, headers=self.auth())
        resp.raise_for_status()
        return resp.json()


async def create(
    urls: dict[str, str], operator_token: str, replicas: dict[str, list[str]] | None = None
) -> Tenant:
    """A tenant with an ingest key and the strategy applied, known to every service."""
    async with httpx.AsyncClient(base_url=urls["goals"], timeout=60) as goals:
        created = await _ok(
            goals.post(
                "/v1/tenants",
                json={"slug": "chaos"},
                headers={"Authorization": f"Bearer {operator_token}"},
            )
        )
        admin = created["admin_api_key"]
        headers = {"Authorization": f"Bearer {admin}"}
        key = await _ok(goals.post("/v1/api-keys", json={"role": "ingest"}, headers=headers))
        await _ok(goals.put("/v1/strategy", json=strategy(), headers=headers))
    tenant = Tenant(created["tenant_id"], admin, key["api_key"], urls, replicas or {})
    await _until_known(tenant)
    return tenant


async def _ok(request: Any) -> Any:
    resp: httpx.Response = await request
    if resp.status_code >= 300:
        raise RuntimeError(
            f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
        )
    return resp.json()


async def _until_known(tenant: Tenant, timeout_s: float = 60.0) -> None:
    """Ingest knows the ingest key, the evaluator and the notifier the strategy."""
    probes = [
        ("metrics-ingest", "POST", "/v1/events", tenant.ingest_key),
        ("evaluator", "GET", f"/v1/kpis/{BREACH_KPI}/status", tenant.admin_key),
        ("notifier", "GET", "/v1/notifications", tenant.admin_key),
    ]
    deadline = time.monotonic() + timeout_s
    for service, method, path, key in probes:
        async with httpx.AsyncClient(base_url=tenant.urls[service], timeout=10) as http:
            while True:
                body: list[object] | None = [] if method == "POST" else None
                resp = await http.request(method, path, json=body, headers=tenant.auth(key))
                if resp.status_code in (200, 202):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{service} does not know the tenant: {resp.text}")
                await asyncio.sleep(0.2)
