import gc
import weakref
from collections.abc import Iterator

import pytest
from kpi_evaluator.heap import YOUNG, HeapFreezer, tune_collector


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()  # other tests run with the collector as it was
    gc.set_threshold(*thresholds)


def test_the_youngest_generation_waits_longer_and_the_others_keep_their_thresholds() -> None:
    _, middle, oldest = gc.get_threshold()
    tune_collector()
    assert gc.get_threshold() == (YOUNG, middle, oldest)


def test_freezes_the_heap_once_per_strategy_version() -> None:
    version = [0]
    heap = HeapFreezer(lambda: version[0])
    held = [{"kpi": n} for n in range(1000)]  # long-lived, like the strategies

    assert heap.settle()
    assert gc.get_freeze_count() >= len(held)
    # A settled tick: no full collection. (Not the freeze count: in a long test process
    # frozen objects of other tests are freed by reference counting at any time.)
    full = gc.get_stats()[2]["collections"]
    assert not heap.settle()
    assert gc.get_stats()[2]["collections"] == full

    version[0] += 1  # a strategy was rebuilt
    assert heap.settle()


class Node:
    other: "Node"


def _cycle() -> Node:
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    return a


def test_cyclic_garbage_frozen_with_the_heap_is_freed_at_the_next_settle() -> None:
    version = [0]
    heap = HeapFreezer(lambda: version[0])
    held = _cycle()
    alive = weakref.ref(held)
    heap.settle()  # freezes the cycle with the rest: it was still in use
    del held  # garbage now, but frozen: out of the collector's reach
    gc.collect()
    assert alive() is not None
    version[0] += 1
    heap.settle()  # unfreezes, collects everything, freezes what survives
    assert alive() is None
