"""The envelopes produced to metrics.events hold to the contract in docs/events.md."""

from datetime import UTC, datetime

from kpi_common.events import MetricObserved, decode, encode, parse_data
from kpi_ingest.envelopes import observed
from kpi_ingest.events import Event

NOW = datetime(2026, 2, 3, 10, 0, 1, tzinfo=UTC)


def test_observed_envelopes_decode_and_are_keyed_by_tenant_and_metric() -> None:
    event = Event("evt-1", "crm.deal.won", 1.0, datetime(2026, 2, 3, 10, tzinfo=UTC), {"r": "x"})
    [out] = observed([event], tenant_id="t-1", source_id="api", received_at=NOW, topic="m")
    assert (out.topic, out.key) == ("m", "t-1:crm.deal.won")
    env = decode(encode(out.envelope))
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
