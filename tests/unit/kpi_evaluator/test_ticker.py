"""What wakes which tick: a strategy change or a finished recompute ticks its tenants at once
(with the cleanup), wakes that come while a tick runs are ticked together after it, and only
a wake for every tenant brings the periodic tick forward. The ticks themselves are recorded,
not run (the tick's SQL is tested against Postgres in tests/integration)."""

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from kpi_evaluator.pipeline import Ticker

Call = tuple[tuple[str, ...] | None, bool]  # tenants (None: every tenant), cleanup


class Recording(Ticker):
    def __init__(self) -> None:
        none = cast(Any, None)
        super().__init__(none, none, none, lambda: datetime(2026, 1, 1, tzinfo=UTC), 3600.0)
        self.calls: list[Call] = []
        self.ticked = asyncio.Condition()
        self.hold = asyncio.Event()  # a tick of `held` tenants waits for it
        self.holding = asyncio.Event()  # set once it waits
        self.held: tuple[str, ...] = ()
        self.hold.set()

    async def tick_once(self, tenants: Iterable[str] | None = None, cleanup: bool = True) -> int:
        names = None if tenants is None else tuple(tenants)
        if names == self.held:
            self.holding.set()
            await self.hold.wait()
        async with self.ticked:
            self.calls.append((names, cleanup))
            self.ticked.notify_all()
        return 0

    async def after(self, n: int) -> list[Call]:
        async with self.ticked:
            await self.ticked.wait_for(lambda: len(self.calls) >= n)
        return self.calls[:n]


async def test_a_wake_for_some_tenants_ticks_those_only_and_wakes_are_ticked_together() -> None:
    ticker = Recording()
    task = asyncio.create_task(ticker.run())
    try:
        assert await ticker.after(1) == [(None, True)]  # at start: every tenant, cleaned up
        ticker.held, ticker.hold = ("a",), asyncio.Event()
        ticker.notify(["a"])
        await ticker.holding.wait()  # the tick of a runs
        ticker.notify(["c", "b"])
        ticker.notify(["b"])
        ticker.hold.set()
        assert await ticker.after(3) == [(None, True), (("a",), True), (("b", "c"), True)]
        ticker.notify()  # every tenant: the periodic tick, now, with the cleanup
        assert (await ticker.after(4))[-1] == (None, True)
    finally:
        task.cancel()
