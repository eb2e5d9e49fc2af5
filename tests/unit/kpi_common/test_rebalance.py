"""The pure parts of handing partitions over: which records a member hands on, where a batch
starts and ends, which partitions a fenced advance refused, and loading the stored offsets
again while the database does not answer."""

from collections.abc import Sequence

from aiokafka import ConsumerRecord, TopicPartition
from kpi_common.offsets import NOT_STORED, Offsets, OffsetsFenced, refused
from kpi_common.rebalance import batch_offsets, next_offsets, positioned, retried_load

A0, A1, B0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)


def rec(tp: TopicPartition, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, None, b"", None, 0, 0, ())


def test_only_held_partitions_from_their_start_are_handed_on() -> None:
    records = [rec(A0, 3), rec(A0, 5), rec(A1, 0), rec(B0, 9)]
    # A0 starts at 5 (3 was read before the seek); A1 is not held (given up); B0 from 0
    kept = positioned(records, {A0: 5, B0: 0})
    assert [(r.topic, r.partition, r.offset) for r in kept] == [("a", 0, 5), ("b", 0, 9)]


def test_nothing_is_handed_on_once_every_partition_was_given_up() -> None:
    assert positioned([rec(A0, 7), rec(A1, 8)], {}) == []


def test_next_offsets_are_one_past_the_highest_record_per_partition() -> None:
    assert next_offsets([rec(A0, 4), rec(A0, 2), rec(A1, 0)]) == {A0: 5, A1: 1}


def test_a_batch_starts_at_the_held_start_not_at_its_first_record() -> None:
    # offsets 10 and 11 were a transaction marker and an aborted record: the batch goes on
    # from the stored 10, so the advance is conditional on 10
    offsets = batch_offsets([rec(A0, 12), rec(A0, 13), rec(B0, 0)], {A0: 10})
    assert offsets == Offsets(start={A0: 10, B0: NOT_STORED}, next={A0: 14, B0: 1})


def test_refused_are_the_partitions_the_advance_did_not_confirm() -> None:
    offsets = Offsets(start={A0: 10, A1: 0}, next={A0: 14, A1: 3})
    assert refused(offsets, {A0}) == [A1]
    assert refused(offsets, {A0, A1}) == []


def test_a_fenced_batch_names_its_partitions() -> None:
    fenced = OffsetsFenced([B0, A1])
    assert fenced.refused == [A1, B0]
    assert str(fenced) == "stored offsets moved on for a[1], b[0]"


class FlakyStore:
    """Stored offsets behind a database that fails its first answers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def load(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("database restarting")
        return {A0: 7}


async def test_stored_offsets_are_loaded_again_until_the_database_answers() -> None:
    store = FlakyStore(failures=2)
    assert await retried_load(store, [A0, A1]) == {A0: 7}
    assert store.calls == 3
