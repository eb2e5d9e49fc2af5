"""The authorisation table: every route of every service, the status each caller gets on an
object of its own tenant, and how to reach the object (own tenant, or tenant B's).

Callers: tenant A's keys (`admin`, `editor`, `editor_unit` = editor limited to unit `sales`,
`viewer`, `ingest`, `revoked` = an admin key revoked), `none` (no Authorization header),
`bad` (a well-formed unknown key) and `operator` (the operator token as bearer).

Objects are chosen outside the `sales` subtree (unit `finance`, the `acme`-wide review), so a
scoped editor's row shows its limit.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.security.stack import OPERATOR, Stack, Tenant

ROLES = (
    "admin", "editor", "editor_unit", "viewer", "ingest", "none", "bad", "revoked", "operator",
)  # fmt: skip
BAD_KEY = "kpi_" + "x" * 43


@dataclass(frozen=True)
class Req:
    path: str
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    data: bytes | None = None


Build = Callable[[Stack, Tenant], Req]


@dataclass(frozen=True)
class Row:
    service: str
    method: str
    path: str
    expected: dict[str, int]
    build: Build
    # how to reach tenant B's object with A's key, and what A gets (404: B's object is
    # invisible); None for routes that name no object
    foreign: Build | None = None
    foreign_status: int = 404


def _statuses(ok: int, **by_role: int) -> dict[str, int]:
    """`ok` for admin, editor, editor_unit, viewer and ingest unless named; 401 for callers
    without a live key of the tenant."""
    base = dict.fromkeys(("admin", "editor", "editor_unit", "viewer", "ingest"), ok)
    unauthenticated = dict.fromkeys(("none", "bad", "revoked", "operator"), 401)
    return {**base, **unauthenticated, **by_role}


PUBLIC = dict.fromkeys(ROLES, 200)
GOALS_READ = _statuses(200, ingest=403)
GOALS_ADMIN_ONLY = _statuses(403, admin=200)
NOTIFIER_READ = _statuses(200, ingest=403)
# acting on something outside the scoped editor's unit subtree
NOTIFIER_WRITE = _statuses(403, admin=200, editor=200)


def token_of(stack: Stack, role: str) -> str | None:
    if role == "none":
        return None
    if role == "bad":
        return BAD_KEY
    if role == "operator":
        return OPERATOR
    return stack.a.keys[role]


def fixed(path: str, **kw: Any) -> Build:
    return lambda _stack, _tenant: Req(path, **kw)


def per_tenant(make: Callable[[Tenant], str], **kw: Any) -> Build:
    return lambda _stack, tenant: Req(make(tenant), **kw)


# --- objects made fresh for each call (a call may consume them) ---------------------------


def fresh_key_id(stack: Stack, tenant: Tenant) -> str:
    admin = tenant.keys["admin"]
    resp = stack.call("goals", "POST", "/v1/api-keys", admin, json={"role": "viewer"})
    assert resp.status_code == 201, resp.text
    key_id: str = resp.json()["key_id"]
    return key_id


def fresh_recompute(stack: Stack, tenant: Tenant) -> int:
    admin = tenant.keys["admin"]
    resp = stack.call("evaluator", "POST", "/v1/recomputes", admin, json={"all": True})
    assert resp.status_code == 202, resp.text
    job: int = resp.json()["id"]
    return job


def fresh_silence(stack: Stack, tenant: Tenant) -> str:
    body = {"matchers": {"unit": "finance"}, "ends_at": "2099-01-01T00:00:00Z"}
    resp = stack.call("notifier", "POST", "/v1/silences", tenant.keys["admin"], json=body)
    assert resp.status_code == 201, resp.text
    silence_id: str = resp.json()["id"]
    return silence_id


def fresh_digest(stack: Stack, tenant: Tenant) -> str:
    body = {"unit": "finance"}
    resp = stack.call("notifier", "POST", "/v1/scorecard-digests", tenant.keys["admin"], json=body)
    assert resp.status_code == 201, resp.text
    return "finance"


def _strategy_change(stack: Stack, _tenant: Tenant) -> Req:
    """A dry run that retitles a finance KPI: outside the scoped editor's subtree."""
    from tests.security.stack import _acme

    doc = _acme()
    next(k for k in doc["kpis"] if k["id"] == "ar-days")["title"] = "AR days (renamed)"
    import orjson

    return Req(
        "/v1/strategy",
        data=orjson.dumps(doc),
        params={"dry_run": "true"},
        headers={"Content-Type": "application/json"},
    )


def _event(_stack: Stack, _tenant: Tenant) -> Req:
    event = {"id": f"sec-{uuid.uuid4().hex}", "metric": "crm.deal.won", "value": 1}
    return Req("/v1/events", json=event)


SOURCE_BODY = {
    "kind": "generic",
    "signature": {"scheme": "static_header", "secret": "static-secret-of-a-source"},
    "mapping": [{"id": "id", "metric": "'crm.deal.lost'", "value": "`1`"}],
}

GOALS_RESOURCES = ("units", "people", "goals", "objectives", "success-factors", "kpis", "reviews")
OWN_IDS = {
    "units": "finance",
    "people": "priya",
    "goals": "grow-revenue",
    "objectives": "collect-faster",
    "success-factors": "invoices-paid-on-time",
    "kpis": "ar-days",
    "reviews": "quarterly-business-review",
}


def _node_of(resource: str) -> Callable[[Tenant], str]:
    def path(tenant: Tenant) -> str:
        node = OWN_IDS[resource] if tenant.name == "a" else f"bsecret-{resource}"
        if resource == "reviews" and tenant.name == "b":
            node = "bsecret-review"
        return f"/v1/{resource}/{node}"

    return path


def _kpi(tenant: Tenant) -> str:
    return "ar-days" if tenant.name == "a" else "bsecret-kpis"


def _goals_rows() -> list[Row]:
    rows = [
        Row("goals", "GET", "/healthz", PUBLIC, fixed("/healthz")),
        Row("goals", "GET", "/readyz", PUBLIC, fixed("/readyz")),
        Row("goals", "GET", "/metrics", PUBLIC, fixed("/metrics")),
        Row("goals", "GET", "/openapi.json", PUBLIC, fixed("/openapi.json")),
        Row("goals", "GET", "/docs", PUBLIC, fixed("/docs")),
        Row("goals", "GET", "/docs/oauth2-redirect", PUBLIC, fixed("/docs/oauth2-redirect")),
        Row("goals", "GET", "/redoc", PUBLIC, fixed("/redoc")),
        Row(
            "goals",
            "POST",
            "/v1/tenants",
            # only the operator token; no tenant key, whatever its role
            {**dict.fromkeys(ROLES, 401), "operator": 201},
            lambda _s, _t: Req("/v1/tenants", json={"slug": f"sec-{uuid.uuid4().hex[:12]}"}),
        ),
        Row(
            "goals",
            "POST",
            "/v1/tenants/{tenant}/admin-keys",
            {**dict.fromkeys(ROLES, 401), "operator": 201},
            lambda _s, t: Req(f"/v1/tenants/{t.slug}/admin-keys", json={"name": "security"}),
        ),
        Row(
            "goals",
            "POST",
            "/v1/api-keys",
            _statuses(403, admin=201),
            fixed("/v1/api-keys", json={"role": "viewer"}),
        ),
        Row("goals", "GET", "/v1/api-keys", GOALS_ADMIN_ONLY, fixed("/v1/api-keys")),
        Row(
            "goals",
            "DELETE",
            "/v1/api-keys/{key_id}",
            GOALS_ADMIN_ONLY,
            lambda s, t: Req(f"/v1/api-keys/{fresh_key_id(s, t)}"),
            foreign=lambda _s, t: Req(f"/v1/api-keys/{t.key_ids['viewer']}"),
        ),
        Row("goals", "GET", "/v1/strategy/schema", PUBLIC, fixed("/v1/strategy/schema")),
        Row(
            "goals",
            "PUT",
            "/v1/strategy",
            _statuses(403, admin=200, editor=200),
            _strategy_change,
        ),
        Row("goals", "GET", "/v1/strategy", GOALS_READ, fixed("/v1/strategy")),
        Row(
            "goals",
            "GET",
            "/v1/kpis/{kpi_id}/history",
            GOALS_READ,
            per_tenant(lambda t: f"/v1/kpis/{_kpi(t)}/history"),
            foreign=per_tenant(lambda t: f"/v1/kpis/{_kpi(t)}/history"),
        ),
        Row(
            "goals",
            "GET",
            "/v1/kpis/{kpi_id}/targets",
            GOALS_READ,
            per_tenant(lambda t: f"/v1/kpis/{_kpi(t)}/targets", params={"as_of": "2099-01-01"}),
            foreign=per_tenant(
                lambda t: f"/v1/kpis/{_kpi(t)}/targets", params={"as_of": "2099-01-01"}
            ),
        ),
        Row("goals", "GET", "/v1/cascade", GOALS_READ, fixed("/v1/cascade")),
        Row(
            "goals",
            "GET",
            "/v1/cascade/chains",
            GOALS_READ,
            lambda _s, t: Req("/v1/cascade/chains", params={"kpi": _kpi(t)}),
            foreign=lambda _s, t: Req("/v1/cascade/chains", params={"kpi": _kpi(t)}),
        ),
        Row(
            "goals",
            "GET",
            "/v1/history",
            GOALS_READ,
            lambda _s, t: Req("/v1/history", params={"kpi": _kpi(t)}),
            foreign=lambda _s, t: Req("/v1/history", params={"kpi": _kpi(t)}),
        ),
        Row("goals", "GET", "/v1/alignment", GOALS_READ, fixed("/v1/alignment")),
    ]
    for resource in GOALS_RESOURCES:
        node = _node_of(resource)
        rows.append(Row("goals", "GET", f"/v1/{resource}", GOALS_READ, fixed(f"/v1/{resource}")))
        rows.append(
            Row(
                "goals",
                "GET",
                f"/v1/{resource}/{{node_id}}",
                GOALS_READ,
                per_tenant(node),
                foreign=per_tenant(node),
            )
        )
    return rows


def _common_rows(service: str) -> list[Row]:
    paths = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc")
    rows = [Row(service, "GET", p, PUBLIC, fixed(p)) for p in paths]
    rows.append(
        Row(service, "GET", "/docs/oauth2-redirect", PUBLIC, fixed("/docs/oauth2-redirect"))
    )
    return rows


def _ingest_rows() -> list[Row]:
    # metrics-ingest answers 403, naming the roles needed, to a live key of another role
    any_role = _statuses(200)
    return [
        *_common_rows("metrics-ingest"),
        Row("metrics-ingest", "POST", "/v1/events", _statuses(403, admin=202, ingest=202), _event),
        Row(
            "metrics-ingest",
            "PUT",
            "/v1/sources/{source_id}",
            _statuses(403, admin=201),
            lambda _s, _t: Req(f"/v1/sources/sec-{uuid.uuid4().hex[:12]}", json=SOURCE_BODY),
            # source ids are global: another tenant's id is taken (409), never replaced
            foreign=lambda _s, t: Req(f"/v1/sources/{t.source_id}", json=SOURCE_BODY),
            foreign_status=409,
        ),
        Row("metrics-ingest", "GET", "/v1/sources", any_role, fixed("/v1/sources")),
        Row(
            "metrics-ingest",
            "GET",
            "/v1/sources/{source_id}",
            any_role,
            per_tenant(lambda t: f"/v1/sources/{t.source_id}"),
            foreign=per_tenant(lambda t: f"/v1/sources/{t.source_id}"),
        ),
        Row(
            "metrics-ingest",
            "GET",
            "/v1/sources/{source_id}/rejects",
            any_role,
            per_tenant(lambda t: f"/v1/sources/{t.source_id}/rejects"),
            foreign=per_tenant(lambda t: f"/v1/sources/{t.source_id}/rejects"),
        ),
        Row(
            "metrics-ingest",
            "POST",
            "/v1/sources/{source_id}/webhook",
            # the source's signature authenticates, never a bearer key: without it, 401 for all
            dict.fromkeys(ROLES, 401),
            per_tenant(lambda t: f"/v1/sources/{t.source_id}/webhook", json=[{"id": "1"}]),
        ),
    ]


def _evaluator_rows() -> list[Row]:
    # the read API takes any live key of the tenant, ingest keys included (docs/evaluator.md)
    reads = _statuses(200)
    series = {"from": "2026-01-01T00:00:00Z", "to": "2026-12-31T00:00:00Z"}
    return [
        *_common_rows("evaluator"),
        Row("evaluator", "GET", "/v1/scorecard", reads, fixed("/v1/scorecard")),
        Row("evaluator", "GET", "/v1/data-health", reads, fixed("/v1/data-health")),
        Row("evaluator", "GET", "/v1/recomputes", reads, fixed("/v1/recomputes")),
        Row(
            "evaluator",
            "GET",
            "/v1/recomputes/{job_id}",
            reads,
            lambda s, t: Req(f"/v1/recomputes/{fresh_recompute(s, t)}"),
            foreign=lambda s, t: Req(f"/v1/recomputes/{fresh_recompute(s, t)}"),
        ),
        Row(
            "evaluator",
            "POST",
            "/v1/recomputes",
            # asking for a recompute takes an admin or editor key (docs/evaluator.md)
            _statuses(403, admin=202, editor=202, editor_unit=202),
            fixed("/v1/recomputes", json={"all": True}),
        ),
        Row(
            "evaluator",
            "GET",
            "/v1/kpis/{kpi_id}/status",
            reads,
            per_tenant(lambda t: f"/v1/kpis/{_kpi(t)}/status"),
            foreign=per_tenant(lambda t: f"/v1/kpis/{_kpi(t)}/status"),
        ),
        Row(
            "evaluator",
            "GET",
            "/v1/kpis/{kpi_id}/series",
            reads,
            per_tenant(lambda t: f"/v1/kpis/{_kpi(t)}/series", params=series),
            foreign=per_tenant(lambda t: f"/v1/kpis/{_kpi(t)}/series", params=series),
        ),
        Row(
            "evaluator",
            "GET",
            "/v1/series",
            reads,
            lambda _s, t: Req("/v1/series", params={"kpi": _kpi(t), **series}),
            foreign=lambda _s, t: Req("/v1/series", params={"kpi": _kpi(t), **series}),
        ),
    ]


def _notifier_rows() -> list[Row]:
    created = {**NOTIFIER_WRITE, "admin": 201, "editor": 201}
    deleted = {**NOTIFIER_WRITE, "admin": 204, "editor": 204}
    return [
        *_common_rows("notifier"),
        Row("notifier", "GET", "/v1/notifications", NOTIFIER_READ, fixed("/v1/notifications")),
        Row(
            "notifier",
            "POST",
            "/v1/notifications/{delivery_id}/resend",
            # no such notification: acting keys learn only that (tests/integration/kpi_notifier
            # /test_resend.py resends real ones); the others are refused for their role first
            {**NOTIFIER_WRITE, "admin": 404, "editor": 404, "editor_unit": 404},
            fixed("/v1/notifications/999999999999/resend"),
        ),
        Row(
            "notifier",
            "GET",
            "/v1/breaches",
            NOTIFIER_READ,
            lambda _s, t: Req("/v1/breaches", params={"breach_id": t.breach_id}),
            # another tenant's breach is one the notifier does not know: left out, not a 404
            foreign=lambda _s, t: Req("/v1/breaches", params={"breach_id": t.breach_id}),
            foreign_status=200,
        ),
        Row(
            "notifier",
            "GET",
            "/v1/breaches/{breach_id}",
            NOTIFIER_READ,
            per_tenant(lambda t: f"/v1/breaches/{t.breach_id}"),
            foreign=per_tenant(lambda t: f"/v1/breaches/{t.breach_id}"),
        ),
        Row(
            "notifier",
            "POST",
            "/v1/breaches/{breach_id}/ack",
            NOTIFIER_WRITE,
            per_tenant(lambda t: f"/v1/breaches/{t.breach_id}/ack"),
            foreign=per_tenant(lambda t: f"/v1/breaches/{t.breach_id}/ack"),
        ),
        Row("notifier", "GET", "/v1/incidents", NOTIFIER_READ, fixed("/v1/incidents")),
        Row(
            "notifier",
            "GET",
            "/v1/incidents/{incident_id}",
            NOTIFIER_READ,
            per_tenant(lambda t: f"/v1/incidents/{t.incident_id}"),
            foreign=per_tenant(lambda t: f"/v1/incidents/{t.incident_id}"),
        ),
        Row(
            "notifier",
            "POST",
            "/v1/incidents/{incident_id}/ack",
            NOTIFIER_WRITE,
            per_tenant(lambda t: f"/v1/incidents/{t.incident_id}/ack"),
            foreign=per_tenant(lambda t: f"/v1/incidents/{t.incident_id}/ack"),
        ),
        Row(
            "notifier",
            "POST",
            "/v1/silences",
            created,
            fixed(
                "/v1/silences",
                json={"matchers": {"unit": "finance"}, "ends_at": "2099-01-01T00:00:00Z"},
            ),
        ),
        Row("notifier", "GET", "/v1/silences", NOTIFIER_READ, fixed("/v1/silences")),
        Row(
            "notifier",
            "DELETE",
            "/v1/silences/{silence_id}",
            deleted,
            lambda s, t: Req(f"/v1/silences/{fresh_silence(s, t)}"),
            foreign=lambda _s, t: Req(f"/v1/silences/{t.silence_id}"),
        ),
        Row(
            "notifier",
            "POST",
            "/v1/test-notification",
            # a test message to a person of the tenant: any acting key, scoped or not
            {**NOTIFIER_WRITE, "admin": 202, "editor": 202, "editor_unit": 202},
            fixed("/v1/test-notification", json={"to": "priya"}),
        ),
        Row("notifier", "GET", "/v1/reviews", NOTIFIER_READ, fixed("/v1/reviews")),
        Row("notifier", "GET", "/v1/shadow", NOTIFIER_READ, fixed("/v1/shadow")),
        # both tenants are acme, so a person of B only is not at hand here: the 404 for
        # another tenant's person is tests/integration/kpi_notifier/test_inbox.py
        Row(
            "notifier",
            "GET",
            "/v1/inbox",
            NOTIFIER_READ,
            fixed("/v1/inbox", params={"person": "priya"}),
        ),
        Row("notifier", "GET", "/v1/findings", NOTIFIER_READ, fixed("/v1/findings")),
        Row(
            "notifier",
            "POST",
            "/v1/reviews/{review_id}/held",
            NOTIFIER_WRITE,
            per_tenant(lambda t: f"/v1/reviews/{t.review_id}/held", json={}),
            foreign=per_tenant(lambda t: f"/v1/reviews/{t.review_id}/held", json={}),
        ),
        Row(
            "notifier",
            "POST",
            "/v1/scorecard-digests",
            created,
            fixed("/v1/scorecard-digests", json={"unit": "finance"}),
        ),
        Row(
            "notifier",
            "GET",
            "/v1/scorecard-digests",
            NOTIFIER_READ,
            fixed("/v1/scorecard-digests"),
        ),
        Row(
            "notifier",
            "DELETE",
            "/v1/scorecard-digests/{unit_id}",
            deleted,
            lambda s, t: Req(f"/v1/scorecard-digests/{fresh_digest(s, t)}"),
            foreign=lambda _s, t: Req(f"/v1/scorecard-digests/{t.digest_unit}"),
        ),
    ]


ROWS: list[Row] = [*_goals_rows(), *_ingest_rows(), *_evaluator_rows(), *_notifier_rows()]
