"""(j)'s load lands one metric on each partition of metrics.events, as ingest keys it."""

from aiokafka.partitioner import DefaultPartitioner

from bench.spread import metrics_per_partition


def test_one_metric_per_partition_in_partition_order() -> None:
    tenant = "2f1c3b9e-6a1d-4c55-9a7e-0d7f3f1b2c4d"
    metrics = metrics_per_partition(tenant, 6)
    assert len(set(metrics)) == 6
    partitions = [
        DefaultPartitioner()(f"{tenant}:{m}".encode(), list(range(6)), []) for m in metrics
    ]
    assert partitions == list(range(6))
