"""Strategy changes while the faults run: each one changes what a steady KPI counts, so the
evaluator recomputes it from its archive, under load, through kills and crashes.

Version 0 is the strategy the tenant starts with (`chaos/tenant.py`). Then, round and round:

1. `chaos-sum-a` counts the other shard (`where` changed), and a new KPI `chaos-added`
   (count of `chaos.amount` per day) appears over events that streamed before it;
2. `chaos-sum-a` per month instead of per year (period changed);
3. `chaos-sum-a` a count instead of a sum (aggregation changed);
4. `chaos-sum-a` the sum of shard `a` again, but per month (`where` changed back).

No version after 0 counts `chaos-sum-a` as version 0 did, so whichever is applied last, the
checks compare a KPI that changed mid-run with the value computed by hand.

Each document is sent with `PUT /v1/strategy` and sent again, whole, until goals answers 200
(a whole document is idempotent: one applied twice is one change). The one applied last is
the final strategy, and the checks count every acknowledged event under it.
"""

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.tenant import AMOUNT, MARKED, STEADY, Definition, Tenant, strategy, title

CHANGING = "chaos-sum-a"
ADDED = "chaos-added"
_ADDED: Definition = ({"metric": AMOUNT, "aggregation": "count"}, "day")
_SHARD_B = {"metric": AMOUNT, "aggregation": "sum", "where": {"shard": "b"}}
_CYCLE: tuple[Definition, ...] = (
    (_SHARD_B, "year"),
    (_SHARD_B, "month"),
    ({**_SHARD_B, "aggregation": "count"}, "month"),
    ({**_SHARD_B, "where": {"shard": "a"}}, "month"),
)


def steady_kpis(version: int) -> dict[str, Definition]:
    """The steady KPIs of strategy version `version` (0: the tenant's first)."""
    if version == 0:
        return dict(STEADY)
    return {**STEADY, CHANGING: _CYCLE[(version - 1) % len(_CYCLE)], ADDED: _ADDED}


@dataclass
class StrategyChanges:
    """Applies version 1, 2, ... every `interval_s` until stopped; `final` is the last one
    goals answered 200 for (a change under way when the stop comes is finished first)."""

    tenant: Tenant
    interval_s: float
    timeout_s: float = 180.0
    applied: list[int] = field(default_factory=lambda: [0])
    refused: int = 0  # answers other than 200 (a fault was on), each followed by a retry

    @property
    def final(self) -> int:
        return self.applied[-1]

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            while not await _stopped(stop, self.interval_s):
                version = self.final + 1
                await self._apply(http, version)
                self.applied.append(version)

    async def _apply(self, http: httpx.AsyncClient, version: int) -> None:
        document = strategy(steady_kpis(version), version)
        deadline = time.monotonic() + self.timeout_s
        goals = self.tenant.urls_of("goals")
        while True:
            # spread over goals' replicas; a retry goes to the next one
            url = f"{goals[(version + self.refused) % len(goals)]}/v1/strategy"
            try:
                resp = await http.put(url, json=document, headers=self.tenant.auth())
                if resp.status_code == 200:
                    return
            except httpx.TransportError:
                pass  # goals (or its database) is down: a fault is on
            self.refused += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"strategy version {version} not applied in {self.timeout_s}s")
            await asyncio.sleep(0.2)


async def _stopped(stop: asyncio.Event, wait_s: float) -> bool:
    try:
        await asyncio.wait_for(stop.wait(), wait_s)
    except TimeoutError:
        return False
    return True


@dataclass(frozen=True)
class Recomputes:
    jobs: int
    unfinished: int
    strategy_seen: bool  # the evaluator serves the final version


async def wait_recomputed(tenant: Tenant, final: int, timeout_s: float = 180.0) -> Recomputes:
    """Until the evaluator serves strategy version `final` and no recompute job is left
    unfinished (bounded: the checks then report what is missing)."""
    deadline = time.monotonic() + timeout_s
    got = Recomputes(0, 0, False)
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):  # still coming back from the last fault
            got = await _recomputes(tenant, final)
        if got.strategy_seen and got.unfinished == 0:
            return got
        await asyncio.sleep(0.5)
    return got


async def _recomputes(tenant: Tenant, final: int) -> Recomputes:
    card = await tenant.get("evaluator", "/v1/scorecard")
    titles = {k["id"]: k["title"] for k in card["kpis"]}
    jobs: list[dict[str, Any]] = (await tenant.get("evaluator", "/v1/recomputes"))["jobs"]
    unfinished = sum(1 for j in jobs if j["state"] != "done")
    return Recomputes(len(jobs), unfinished, titles.get(MARKED) == title(MARKED, final))
