"""metrics.events keys land on the partition Kafka's default partitioner picks, also through
the per-key cache of kpi_common.kafka (the evaluator relies on one partition per metric)."""

from aiokafka.partitioner import DefaultPartitioner
from kpi_common.batches import CachedPartitioner


def test_cached_partitions_equal_the_default_partitioner() -> None:
    cached = CachedPartitioner(max_keys=50)
    for n in (1, 3, 6, 12):
        parts = list(range(n))
        for i in range(200):
            key = f"tenant-{i % 7}:metric.{i}".encode()
            expected = DefaultPartitioner()(key, parts, parts)
            assert cached(key, parts, parts) == expected
            assert cached(key, parts, parts) == expected


def test_unkeyed_messages_still_pick_an_available_partition() -> None:
    assert CachedPartitioner()(None, [0, 1, 2], [2]) == 2
