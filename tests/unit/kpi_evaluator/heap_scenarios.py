"""Scenarios of kpi_evaluator.heap, each run by test_heap.py in an interpreter of its own:
freezing the garbage collector's heap is process-wide, and the test process holds every
earlier test's objects (a freeze there moved them out of the collector's reach)."""

import gc
import weakref

from kpi_evaluator.heap import YOUNG, HeapFreezer, tune_collector


def the_youngest_generation_waits_longer() -> None:
    _, middle, oldest = gc.get_threshold()
    tune_collector()
    assert gc.get_threshold() == (YOUNG, middle, oldest)


def freezes_once_per_strategy_version() -> None:
    version = [0]
    heap = HeapFreezer(lambda: version[0])
    held = [{"kpi": n} for n in range(1000)]  # long-lived, like the strategies
    assert heap.settle()
    frozen = gc.get_freeze_count()
    assert frozen >= len(held)
    full = gc.get_stats()[2]["collections"]
    assert not heap.settle()  # a settled tick: no collection, nothing moved
    assert gc.get_stats()[2]["collections"] == full
    assert gc.get_freeze_count() == frozen
    version[0] += 1  # a strategy was rebuilt
    assert heap.settle()


class Node:
    other: "Node"


def _cycle() -> Node:
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    return a


def cyclic_garbage_frozen_with_the_heap_is_freed_at_the_next_settle() -> None:
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
