"""Property-based fuzz of the source endpoints: any definition to PUT /v1/sources/{id} and any
payload to a configured webhook (correctly keyed, so mapping and intake run) never get a 5xx."""

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kpi_ingest.config import Settings

from tests.integration.kpi_ingest.conftest import Tenant, auth, new_tenant, wait_key_known

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "amount", "op", "after", "ts", "x"]), inner, max_size=5
        )
    ),
    max_leaves=25,
)
expressions = st.sampled_from(
    ["id", "amount", "after.id", "[*]", "`1`", "'a.b'", "ts", "@", "x["]
) | st.text(max_size=12)
rules = st.fixed_dictionaries(
    {"id": expressions, "metric": expressions, "value": expressions},
    optional={
        "for_each": expressions,
        "when": expressions,
        "time": expressions,
        "dimensions": st.dictionaries(st.text(max_size=8), expressions, max_size=3),
    },
)
definitions = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["generic", "stripe", "debezium", "nope"]) | scalars,
        "mapping": st.lists(rules, max_size=3) | values,
    },
    optional={
        "signature": st.fixed_dictionaries(
            {
                "scheme": st.sampled_from(["hubspot_v3", "stripe_v1", "static_header", "x"]),
                "secret": st.text(max_size=20),
            }
        )
        | values,
        "topic": st.text(max_size=20) | scalars,
    },
)
MAPPING = [
    {
        "for_each": "items[*]",
        "id": "id",
        "metric": "'erp.invoice.posted'",
        "value": "amount",
        "time": "ts",
        "dimensions": {"region": "region"},
    },
]


@pytest.fixture
async def admin(settings: Settings, client: httpx.AsyncClient) -> Tenant:
    tenant = await new_tenant(settings, "admin")
    await wait_key_known(client, tenant.key)
    return tenant


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(definition=definitions)
async def test_put_source_never_answers_5xx(
    client: httpx.AsyncClient, admin: Tenant, unique: str, definition: dict[str, object]
) -> None:
    resp = await client.put(
        f"/v1/sources/fz-{unique}",
        content=json.dumps(definition).encode(),  # NaN and huge numbers included
        headers={**auth(admin.key), "Content-Type": "application/json"},
    )
    assert resp.status_code < 500, (resp.status_code, resp.text, definition)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payload=st.fixed_dictionaries({"items": st.lists(values, max_size=5) | values}) | values,
    raw=st.none() | st.binary(max_size=200),
)
async def test_webhook_payloads_never_get_5xx(
    client: httpx.AsyncClient, admin: Tenant, unique: str, payload: object, raw: bytes | None
) -> None:
    sid = f"wf-{unique}"
    definition = {
        "kind": "generic",
        "signature": {"scheme": "static_header", "secret": "fuzz-secret-key"},
        "mapping": MAPPING,
    }
    put = await client.put(f"/v1/sources/{sid}", json=definition, headers=auth(admin.key))
    assert put.is_success
    body = raw if raw is not None else json.dumps(payload).encode()
    resp = await client.post(
        f"/v1/sources/{sid}/webhook", content=body, headers={"X-Api-Key": "fuzz-secret-key"}
    )
    assert resp.status_code < 500, (resp.status_code, resp.text, body)
