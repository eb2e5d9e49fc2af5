"""Property-based fuzz of POST /v1/events: whatever the body, content type and ce-* headers,
the answer is never a 5xx (bad input is 4xx, or a 202 naming each rejected event)."""

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kpi_ingest.config import Settings

from tests.integration.kpi_ingest.conftest import auth, new_tenant, wait_key_known


def _dumps(value: object) -> bytes:
    """stdlib json, so huge integers, NaN and lone surrogates reach the service too."""
    return json.dumps(value).encode()


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
metrics = st.sampled_from(["crm.deal.won", "a", "Bad Name", "x." * 70, ""]) | st.text(max_size=20)
times = st.sampled_from(
    [
        "2026-02-03T10:00:00Z",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+14:00",
        "nope",
        "2026-02-03T10:00:00",
        "3026-01-01T00:00:00Z",
    ]
) | st.text(max_size=25)
events = st.fixed_dictionaries(
    {"id": st.text(max_size=250) | st.integers(), "metric": metrics, "value": scalars},
    optional={"time": times | scalars, "dimensions": json_values, "extra": json_values},
)
cloudevents = st.fixed_dictionaries(
    {
        "specversion": st.sampled_from(["1.0", "0.3"]) | scalars,
        "id": st.text(max_size=20),
        "type": metrics,
        "data": json_values | st.fixed_dictionaries({"value": scalars}),
    },
    optional={"time": times, "source": st.text(max_size=10)},
)
# Valid but for one part, so the claim and produce path is exercised with odd ids too.
nearly_valid = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=250) | st.sampled_from(["a\x00b", "\x1f", " "]),
        "metric": st.just("erp.invoice.posted"),
        "value": st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**63), 2**63),
    },
    optional={"time": times, "dimensions": st.dictionaries(st.text(max_size=70), scalars)},
)
bodies = (
    st.lists(nearly_valid, max_size=30).map(_dumps)
    | json_values.map(_dumps)
    | st.lists(events | cloudevents, max_size=20).map(_dumps)
    | (events | cloudevents).map(_dumps)
    | st.binary(max_size=300)
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/cloudevents+json",
        "application/cloudevents-batch+json",
        "text/plain",
        "application/json; charset=utf-8",
        "",
    ]
)
ce_headers = st.dictionaries(
    st.sampled_from(["ce-specversion", "ce-id", "ce-type", "ce-time", "ce-source"]),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=30),
    max_size=5,
)


@pytest.fixture
async def ingest_key(settings: Settings, client: httpx.AsyncClient) -> str:
    tenant = await new_tenant(settings)
    await wait_key_known(client, tenant.key)
    return tenant.key


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, content_type=content_types, extra=ce_headers)
async def test_post_events_never_answers_5xx(
    client: httpx.AsyncClient,
    ingest_key: str,
    body: bytes,
    content_type: str,
    extra: dict[str, str],
) -> None:
    headers = {**auth(ingest_key), "Content-Type": content_type, **extra}
    resp = await client.post("/v1/events", content=body, headers=headers)
    assert resp.status_code < 500, (resp.status_code, resp.text, body)
