"""The supervisor stops every loop, also one that lost its first cancellation."""

import asyncio

from kpi_common.runtime import Supervisor


async def test_stop_cancels_again_a_loop_that_swallowed_its_cancellation() -> None:
    swallowed = asyncio.Event()

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed.is_set():
                    raise
                swallowed.set()  # what asyncio.wait_for of Python 3.11 can do

    sup = Supervisor()
    sup.spawn("stubborn", stubborn)
    await asyncio.sleep(0)
    async with asyncio.timeout(10):
        await sup.stop(grace_s=0.05)
    assert swallowed.is_set()
