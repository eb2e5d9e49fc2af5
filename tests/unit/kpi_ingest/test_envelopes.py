"""The envelopes produced to metrics.events hold to the contract in docs/events.md, and are
the very bytes the generic encoder gives for them."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from kpi_common.events import MetricObserved, decode, encode, parse_data
from kpi_ingest.envelopes import observed
from kpi_ingest.events import Event

NOW = datetime(2026, 2, 3, 10, 0, 1, tzinfo=UTC)


def test_observed_envelopes_decode_and_are_keyed_by_tenant_and_metric() -> None:
    event = Event("evt-1", "crm.deal.won", 1.0, datetime(2026, 2, 3, 10, tzinfo=UTC), {"r": "x"})
    [out] = observed([event], tenant_id="t-1", source_id="api", received_at=NOW, topic="m")
    assert (out.topic, out.key) == ("m", "t-1:crm.deal.won")
    env = decode(out.value)
    assert (env.id, env.type, env.version, env.tenant_id) == ("evt-1", "metric.observed", 1, "t-1")
    data = parse_data(env)
    assert data == MetricObserved(
        metric="crm.deal.won",
        value=1.0,
        time=datetime(2026, 2, 3, 10, tzinfo=UTC),
        dimensions={"r": "x"},
        source_id="api",
        received_at=NOW,
    )


@pytest.mark.parametrize(
    ("received_at", "dimensions"),
    [
        (NOW, {"r": "x", "n": 3, "f": 0.1, "b": True}),
        (datetime(2026, 2, 3, 10, 0, 1, 250_000, tzinfo=UTC), {}),
        (datetime(2026, 2, 3, 12, tzinfo=timezone(timedelta(hours=2))), {"big": 2**63}),
    ],
)
def test_the_bytes_are_what_encode_gives_for_the_envelope(
    received_at: datetime, dimensions: dict[str, str | int | float | bool]
) -> None:
    event = Event("e", "a.b", 1e16, datetime(2026, 2, 3, 9, 59, 59, 5, tzinfo=UTC), dimensions)
    [out] = observed([event], tenant_id="t", source_id="s", received_at=received_at, topic="m")
    assert encode(decode(out.value)) == out.value
