"""The metric event the bench's direct-to-Kafka runs (hotpath, scale fan-out) publish."""

from kpi_common.events import MetricObserved, decode_with_data

from bench.tenant import observed


def test_an_observed_event_is_a_valid_metric_observed_keyed_by_tenant_and_metric() -> None:
    out = observed("bench.", "t1", "bench.e2e", "bench-hotpath-r1-0")
    envelope, data = decode_with_data(out.encoded())

    assert (out.topic, out.key) == ("bench.metrics.events", "t1:bench.e2e")
    assert (envelope.id, envelope.tenant_id, envelope.producer) == (
        "bench-hotpath-r1-0",
        "t1",
        "metrics-ingest",
    )
    assert isinstance(data, MetricObserved)
    assert (data.metric, data.value, data.dimensions) == ("bench.e2e", 1, {"region": "emea"})
