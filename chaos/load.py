"""Steady load with an exact record of what was acknowledged, and the breach rounds.

A batch is retried with the SAME ids until ingest answers 202 (a 503, 429, refused
connection or timeout during a fault is retried; a 202 lost to a timeout comes back as
duplicates on the retry). Only a 202 makes a batch's events "acknowledged"; a batch still
unacknowledged when the drain deadline passes is kept apart (it may or may not count).
Every tenth acknowledged batch is sent once more on purpose: ingest must call it duplicates.
"""

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from chaos.tenant import BREACH_KPI, YEAR, Tenant

Event = dict[str, Any]
STEADY_START = datetime(YEAR, 1, 6, tzinfo=UTC)
STEADY_DAYS = 5
BREACH_START = datetime(YEAR - 2, 1, 1, tzinfo=UTC)  # a round a day, ~1,000 closed days
BREACH_LOW, BREACH_HIGH = 10, 100  # 10 of 100: off track; 110: achieved


def steady_event(worker: int, n: int) -> Event:
    day = STEADY_START + timedelta(days=(n + worker) % STEADY_DAYS)
    at = day + timedelta(hours=6, seconds=n % 36_000)
    return {
        "id": f"w{worker}-{n}",
        "metric": "chaos.amount",
        "value": 1 + (7 * n + worker) % 13,  # integers: every sum is exact
        "time": at.isoformat(),
        "dimensions": {"shard": "a" if (n + worker) % 3 == 0 else "b"},
    }


@dataclass
class Intake:
    """What ingest answered, as the suite saw it."""

    acked: list[Event] = field(default_factory=list)
    unacked: list[Event] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    accepted_at: list[tuple[float, float]] = field(default_factory=list)  # (sent, answered)
    resends: int = 0
    resend_accepted: int = 0  # ids ingest took again (must stay 0)
    drain_deadline: float | None = None

    def first_accept_after(self, t: float) -> float | None:
        """When the first request sent after `t` was acknowledged."""
        return min((done for sent, done in self.accepted_at if sent >= t), default=None)

    def longest_gap(self, start: float, end: float) -> float:
        """The longest time between `start` and `end` in which no batch was acknowledged."""
        done = sorted(d for _, d in self.accepted_at if start < d < end)
        edges = [start, *done, end]
        return max(b - a for a, b in itertools.pairwise(edges))


class Sender:
    """POSTs batches for one key, retrying until 202 (bounded only once draining)."""

    def __init__(self, tenant: Tenant, intake: Intake) -> None:
        self._urls = [f"{url}/v1/events" for url in tenant.urls_of("metrics-ingest")]
        self._turn = 0  # each request to the next replica (a retry too: another replica)
        self._headers = tenant.auth(tenant.ingest_key)
        self._intake = intake
        self._http = httpx.AsyncClient(timeout=5)

    async def close(self) -> None:
        await self._http.aclose()

    async def deliver(self, batch: list[Event]) -> bool:
        while True:
            sent = time.monotonic()
            answer, body, wait_s = await self._post(batch)
            self._intake.answers[answer] += 1
            if answer == "202":
                _check_counts(body, batch)
                self._intake.accepted_at.append((sent, time.monotonic()))
                self._intake.acked.extend(batch)
                return True
            deadline = self._intake.drain_deadline
            if deadline is not None and time.monotonic() > deadline:
                self._intake.unacked.extend(batch)
                return False
            await asyncio.sleep(wait_s)

    async def resend(self, batch: list[Event]) -> None:
        """An acknowledged batch once more: all of it must be duplicates."""
        answer, body, _ = await self._post(batch)
        if answer == "202":
            self._intake.resends += 1
            self._intake.resend_accepted += int(body["accepted"])

    async def _post(self, batch: list[Event]) -> tuple[str, Any, float]:
        self._turn += 1
        url = self._urls[self._turn % len(self._urls)]
        try:
            resp = await self._http.post(url, json=batch, headers=self._headers)
        except httpx.TimeoutException:
            return "timeout", None, 0.2
        except httpx.TransportError:
            return "refused", None, 0.2
        wait_s = min(float(resp.headers.get("retry-after", "0.2")), 1.0)
        body = resp.json() if resp.status_code == 202 else None
        return str(resp.status_code), body, wait_s


def _check_counts(body: Any, batch: list[Event]) -> None:
    if body["rejected"] or body["accepted"] + body["duplicates"] != len(batch):
        raise RuntimeError(f"ingest did not take the whole batch: {body}")


class SteadyLoad:
    """`workers` senders, each a batch of `batch` events every `interval_s`."""

    def __init__(self, sender: Sender, workers: int, batch: int, interval_s: float) -> None:
        self._sender = sender
        self._workers = workers
        self._batch = batch
        self._interval_s = interval_s
        self.generated = 0

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._worker(w, stop) for w in range(self._workers)))

    async def _worker(self, worker: int, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            batch = [steady_event(worker, n * self._batch + i) for i in range(self._batch)]
            self.generated += len(batch)
            acked = await self._sender.deliver(batch)
            n += 1
            if acked and n % 10 == 0:
                await self._sender.resend(batch)
            await asyncio.sleep(self._interval_s)


@dataclass
class Round:
    period: str
    breach_id: str | None = None
    opened: bool = False
    resolved: bool = False


class BreachRounds:
    """Round after round on a fresh closed day: 10 (opens), then +100 (resolves). Each step
    waits (bounded) until the evaluator's read API shows it."""

    def __init__(self, sender: Sender, tenant: Tenant, timeout_s: float = 180.0) -> None:
        self._sender = sender
        self._tenant = tenant
        self._timeout_s = timeout_s
        self.rounds: list[Round] = []
        self.transition = asyncio.Event()  # set at each transition seen (for the notifier fault)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            day = BREACH_START + timedelta(days=len(self.rounds))
            if day.year > YEAR:  # only closed days: a round never depends on the clock
                return
            current = Round(day.date().isoformat())
            self.rounds.append(current)
            await self._step(current, day, BREACH_LOW, "off_track")
            current.opened = True
            await self._step(current, day, BREACH_HIGH, "achieved")
            current.resolved = True

    async def _step(self, current: Round, day: datetime, value: int, status: str) -> None:
        event = {
            "id": f"breach-{current.period}-{value}",
            "metric": "chaos.breach",
            "value": value,
            "time": (day + timedelta(hours=12)).isoformat(),
        }
        if not await self._sender.deliver([event]):
            raise RuntimeError(f"breach event {event['id']} never acknowledged")
        row = await self._wait_status(current.period, status)
        current.breach_id = current.breach_id or row.get("breach_id")
        self.transition.set()
        self.transition.clear()

    async def _wait_status(self, period: str, status: str) -> Any:
        deadline = time.monotonic() + self._timeout_s
        path = f"/v1/kpis/{BREACH_KPI}/status"
        while time.monotonic() < deadline:
            try:
                row = await self._tenant.get("evaluator", path, period=period)
                if row["status"] == status:
                    return row
            except httpx.HTTPError:
                pass  # the evaluator (or its database) is down: a fault is on
            await asyncio.sleep(0.2)
        raise TimeoutError(f"{BREACH_KPI} {period} never {status} within {self._timeout_s:.0f}s")
