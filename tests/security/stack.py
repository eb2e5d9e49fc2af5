"""The four services in this process (ASGI), on the real Postgres and Kafka, with two real
tenants: A holds a key of every role, B holds objects A must never see.

The apps run in schemathesis' ASGI portal (one event loop thread, each app's lifespan started
once), so schemathesis and the tests below share the same running apps and talk to them with
the same synchronous client.
"""

import asyncio
import copy
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import orjson
import requests
import yaml
from fastapi import FastAPI
from kpi_common.events import KpiBreachOpened, make_envelope
from kpi_common.kafka import Outgoing, create_producer, ensure_topics, publish
from kpi_common.topics import KPI_BREACHES
from kpi_evaluator.config import Settings as EvaluatorSettings
from kpi_evaluator.main import create_app as evaluator_app
from kpi_goals.config import Settings as GoalsSettings
from kpi_goals.main import create_app as goals_app
from kpi_ingest.config import Settings as IngestSettings
from kpi_ingest.main import create_app as ingest_app
from kpi_notifier.config import Settings as NotifierSettings
from kpi_notifier.main import create_app as notifier_app
from schemathesis.python import asgi

from tests.conftest import Infra
from tests.support.procs import free_port
from tests.support.strategy_events import ACME

OPERATOR = "operator-token-of-the-security-suite"
SERVICES = ("goals", "metrics-ingest", "evaluator", "notifier")
# Every id only tenant B has; none of them may ever appear in an answer to tenant A.
B_MARK = "bsecret"
T = TypeVar("T")
REQUEST_TIMEOUT_S = 30


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a loop of its own thread (the tests are synchronous,
    and the apps' loop belongs to the portal)."""
    out: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            out.append(asyncio.run(make()))  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return out[0]


def wait_for(check: Callable[[], bool], timeout_s: float = 60.0, what: str = "") -> None:
    """Poll until `check` holds, within a bounded time."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached within {timeout_s} s: {what}")
        time.sleep(0.1)


def bearer(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


@dataclass
class Tenant:
    name: str  # "a" or "b"
    slug: str
    tenant_id: str
    keys: dict[str, str] = field(default_factory=dict)  # role name -> api key
    key_ids: dict[str, str] = field(default_factory=dict)
    # objects of the tenant's own, outside the `sales` subtree
    source_id: str = ""
    breach_id: str = ""
    incident_id: str = ""
    silence_id: str = ""
    review_id: str = ""
    digest_unit: str = ""


def _answers(client: requests.Session, path: str, status: int) -> Callable[[], bool]:
    return lambda: client.get(path).status_code == status


@dataclass
class Stack:
    apps: dict[str, FastAPI]
    clients: Mapping[str, requests.Session]
    settings: dict[str, Any]
    a: Tenant
    b: Tenant

    def call(
        self,
        service: str,
        method: str,
        path: str,
        token: str | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        headers = {**bearer(token), **kwargs.pop("headers", {})}
        return self.clients[service].request(
            method, path, headers=headers, timeout=REQUEST_TIMEOUT_S, **kwargs
        )


def _acme() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(ACME.read_text())
    return doc


def _b_document() -> dict[str, Any]:
    """Acme plus one entry per section whose id only tenant B has."""
    doc = copy.deepcopy(_acme())
    for section in ("units", "people", "goals", "objectives", "success_factors", "kpis"):
        entries = doc[section]
        extra = copy.deepcopy(entries[1] if len(entries) > 1 else entries[0])
        extra["id"] = f"{B_MARK}-{section.replace('_', '-')}"
        entries.append(extra)
    review = copy.deepcopy(doc["reviews"][0])
    review["id"] = f"{B_MARK}-review"
    doc["reviews"].append(review)
    return doc


def _settings(infra: Infra, database_url: str, prefix: str) -> dict[str, Any]:
    shared: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap": infra.kafka_bootstrap,
        "topic_prefix": prefix,
        "topic_partitions": 2,
        "log_level": "WARNING",
    }
    return {
        "goals": GoalsSettings(**shared, operator_token=OPERATOR),
        "metrics-ingest": IngestSettings(
            **shared, key_refresh_s=0.2, kafka_probe_s=0.2, intake_workers=2, db_pool_size=4
        ),
        "evaluator": EvaluatorSettings(**shared, tick_s=3600.0, db_pool_size=4),
        "notifier": NotifierSettings(**shared, smtp_port=free_port()),
    }


def _apps(settings: dict[str, Any]) -> dict[str, FastAPI]:
    return {
        "goals": goals_app(settings["goals"]),
        "metrics-ingest": ingest_app(settings["metrics-ingest"]),
        "evaluator": evaluator_app(settings["evaluator"]),
        # no sender or ticker: what the API plans stays pending, nothing is mailed
        "notifier": notifier_app(settings["notifier"], environ={}, loops=("consumer", "relay")),
    }


@contextmanager
def running_stack(infra: Infra, database_url: str) -> Iterator[Stack]:
    prefix = f"{infra.topic_prefix}sec{uuid.uuid4().hex[:6]}."
    settings = _settings(infra, database_url, prefix)
    run_async(lambda: ensure_topics(infra.kafka_bootstrap, prefix, 2))
    apps = _apps(settings)
    clients = {name: asgi.get_client(cast(Any, app)) for name, app in apps.items()}
    try:
        for client in clients.values():
            client.__enter__()  # starts the app's lifespan in the shared portal
        for name, client in clients.items():
            wait_for(_answers(client, "/readyz", 200), 90, f"{name} ready")
        stack = Stack(apps, clients, settings, Tenant("a", "", ""), Tenant("b", "", ""))
        stack.a = _tenant_a(stack)
        stack.b = _tenant_b(stack)
        _wait_keys_known(stack)
        _add_objects(stack, stack.a, "finance", "quarterly-business-review")
        _add_objects(stack, stack.b, f"{B_MARK}-units", f"{B_MARK}-review")
        yield stack
    finally:
        for client in clients.values():
            client.__exit__(None, None, None)
        asgi.shutdown_lifespans()


def _new_tenant(stack: Stack, name: str, slug: str, document: dict[str, Any]) -> Tenant:
    resp = stack.call("goals", "POST", "/v1/tenants", OPERATOR, json={"slug": slug})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    tenant = Tenant(name, slug, body["tenant_id"], {"admin": body["admin_api_key"]})
    tenant.key_ids["admin"] = body["key_id"]
    resp = stack.call(
        "goals",
        "PUT",
        "/v1/strategy",
        tenant.keys["admin"],
        data=orjson.dumps(document),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 200, resp.text
    return tenant


def _add_key(stack: Stack, tenant: Tenant, name: str, role: str, unit: str | None = None) -> None:
    body: dict[str, Any] = {"role": role} | ({"unit": unit} if unit else {})
    resp = stack.call("goals", "POST", "/v1/api-keys", tenant.keys["admin"], json=body)
    assert resp.status_code == 201, resp.text
    tenant.keys[name] = resp.json()["api_key"]
    tenant.key_ids[name] = resp.json()["key_id"]


def _tenant_a(stack: Stack) -> Tenant:
    a = _new_tenant(stack, "a", f"sec-a-{uuid.uuid4().hex[:6]}", _acme())
    for role in ("editor", "viewer", "ingest"):
        _add_key(stack, a, role, role)
    _add_key(stack, a, "editor_unit", "editor", "sales")
    _add_key(stack, a, "revoked", "admin")
    resp = stack.call("goals", "DELETE", f"/v1/api-keys/{a.key_ids['revoked']}", a.keys["admin"])
    assert resp.status_code == 200, resp.text
    return a


def _tenant_b(stack: Stack) -> Tenant:
    b = _new_tenant(stack, "b", f"sec-b-{uuid.uuid4().hex[:6]}", _b_document())
    _add_key(stack, b, "viewer", "viewer")
    return b


def _wait_keys_known(stack: Stack) -> None:
    """Downstream services learn keys and strategies from goals.changes."""
    probes = {
        "metrics-ingest": ("GET", "/v1/sources/none-such"),
        "evaluator": ("GET", "/v1/scorecard"),
        "notifier": ("GET", "/v1/notifications"),
    }
    for tenant in (stack.a, stack.b):
        for service, (method, path) in probes.items():
            for name, key in tenant.keys.items():
                if name == "revoked":
                    continue
                known = _key_answer(stack, service, method, path, key, lambda code: code != 401)
                wait_for(known, 90, f"{service} knows {tenant.slug}'s {name} key")
    # the revoked key: revoked downstream too, once its revocation was consumed
    for service, (method, path) in probes.items():
        revoked = stack.a.keys["revoked"]
        refused = _key_answer(stack, service, method, path, revoked, lambda code: code == 401)
        wait_for(refused, 90, f"{service} knows the revocation")


def _key_answer(
    stack: Stack, service: str, method: str, path: str, key: str, good: Callable[[int], bool]
) -> Callable[[], bool]:
    return lambda: good(stack.call(service, method, path, key).status_code)


def _add_objects(stack: Stack, tenant: Tenant, unit: str, review: str) -> None:
    """A webhook source, a breach, an incident, a silence and a scorecard digest, all of
    `unit`."""
    admin = tenant.keys["admin"]
    prefix = B_MARK if tenant.name == "b" else "own"
    tenant.source_id = f"{prefix}-src-{uuid.uuid4().hex[:8]}"
    resp = stack.call("metrics-ingest", "PUT", f"/v1/sources/{tenant.source_id}", admin,
                      json=STATIC_SOURCE)  # fmt: skip
    assert resp.status_code == 201, resp.text
    tenant.breach_id = f"brc-{prefix}-{uuid.uuid4().hex[:8]}"
    publish_breach(stack, tenant, tenant.breach_id, unit, "ar-days")
    # revenue-emea contributes to revenue: its breach opens an incident
    publish_breach(stack, tenant, f"{tenant.breach_id}-inc", unit, "revenue-emea")
    resp = stack.call("notifier", "GET", "/v1/incidents", admin)
    assert resp.status_code == 200, resp.text
    tenant.incident_id = resp.json()[0]["incident_id"]
    silence = {"matchers": {"unit": unit}, "ends_at": "2099-01-01T00:00:00Z"}
    resp = stack.call("notifier", "POST", "/v1/silences", admin, json=silence)
    assert resp.status_code == 201, resp.text
    tenant.silence_id = resp.json()["id"]
    resp = stack.call("notifier", "POST", "/v1/scorecard-digests", admin, json={"unit": unit})
    assert resp.status_code == 201, resp.text
    tenant.digest_unit = unit
    tenant.review_id = review


STATIC_SOURCE: dict[str, Any] = {
    "kind": "generic",
    "signature": {"scheme": "static_header", "secret": "static-secret-of-the-suite"},
    "mapping": [{"id": "id", "metric": "'crm.deal.won'", "value": "`1`"}],
}


def publish_breach(stack: Stack, tenant: Tenant, breach_id: str, unit: str, kpi: str) -> None:
    """A breach as the evaluator announces it on kpi.breaches; waits until the notifier has it."""
    from tests.integration.kpi_notifier.conftest import example_breach

    settings = stack.settings["notifier"]
    facts = {**example_breach(), "breach_id": breach_id, "kpi_id": kpi, "unit_id": unit}
    envelope = make_envelope(
        id=f"{breach_id}-opened",
        tenant_id=tenant.tenant_id,
        producer="evaluator",
        time=datetime.now(UTC),
        data=KpiBreachOpened.model_validate(facts),
    )
    topic = KPI_BREACHES.qualified(settings.topic_prefix)

    async def send() -> None:
        producer = create_producer(settings.kafka_bootstrap)
        await producer.start()
        try:
            await publish(producer, [Outgoing(topic, f"{tenant.tenant_id}:{kpi}", envelope)])
        finally:
            await producer.stop()

    run_async(send)
    admin = tenant.keys["admin"]
    wait_for(
        lambda: (
            stack.call("notifier", "GET", f"/v1/breaches/{breach_id}", admin).status_code == 200
        ),
        60,
        f"notifier holds breach {breach_id}",
    )
