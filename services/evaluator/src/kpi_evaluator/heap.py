"""Keeping CPython's cyclic garbage collector off the strategies the evaluator holds.

The evaluator keeps every tenant's parsed strategy for as long as it runs: hundreds of
thousands of container objects at 50,000 KPIs. A full collection walks every tracked object,
and a tick, which allocates in proportion to the KPIs, triggered more of them the more KPIs
there were: the settled tick's CPU grew as KPIs^1.4 (docs/benchmarks.md, "Cost curves").
Once the strategies have settled, what survives a full collection is moved out of the
collector's reach (`gc.freeze`); reference counting still frees a replaced strategy.

The youngest generation is collected after `YOUNG` net allocations of container objects
rather than CPython's 700: a tick's objects are freed by reference counting as it goes, so
young collections mostly found nothing, and cost a tenth of a settled tick.
"""

import gc
from collections.abc import Callable

YOUNG = 20_000


def tune_collector() -> None:
    """Set the youngest generation's threshold (the older ones keep CPython's)."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, oldest)


class HeapFreezer:
    """Call `settle` after each tick; `version` moves whenever a strategy was (re)built."""

    def __init__(self, version: Callable[[], int]) -> None:
        self._version = version
        self._frozen = -1

    def settle(self) -> bool:
        """When the strategies changed since the last freeze: collect everything, the
        frozen objects too (so cyclic garbage frozen with them is freed now), and freeze
        what survives. Returns whether it did. One full collection per tick after a
        strategy change; none in a settled tick."""
        version = self._version()
        if version == self._frozen:
            return False
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self._frozen = version
        return True
