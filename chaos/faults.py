"""The faults and how long the system takes to recover from each.

A service fault is a SIGKILL of its whole process group, then a fresh start. Kafka and
PostgreSQL are either SIGKILLed (`crash`) or stopped cleanly (`restart`), then started on the
same data and ports. Recovery is measured from the moment the repair began:
- ready: every service's `/readyz` answers 200 again;
- ingest: the first request sent after the repair is acknowledged (202);
- caught up: the evaluator has stored offsets up to the end `metrics.events` had once
  everything was ready (its lag back to 0).
"""

import asyncio
import random
import time
from dataclasses import dataclass

from kpi_localinfra import KafkaServer, PostgresServer

from chaos.load import BreachRounds, Intake
from chaos.observe import wait_caught_up
from chaos.stack import NAMES, Stack


@dataclass(frozen=True)
class Fault:
    target: str  # a service name, "kafka" or "postgres"
    mode: str  # "sigkill" (services), "crash" or "restart" (kafka, postgres)

    def __str__(self) -> str:
        return f"{self.mode} {self.target}"


@dataclass(frozen=True)
class Outcome:
    fault: Fault
    down_s: float
    ready_s: float
    ingest_s: float
    caught_up_s: float

    @property
    def recovery_s(self) -> float:
        return max(self.ready_s, self.ingest_s, self.caught_up_s)


def plan(repeats: int) -> list[Fault]:
    """Each service killed, Kafka and PostgreSQL each brought down, `repeats` times; the
    infrastructure alternates between a crash and a clean restart."""
    faults: list[Fault] = []
    for i in range(repeats):
        infra_mode = "crash" if i % 2 == 0 else "restart"
        faults += [Fault(name, "sigkill") for name in NAMES]
        faults += [Fault("kafka", infra_mode), Fault("postgres", infra_mode)]
    return faults


class Injector:
    def __init__(
        self, stack: Stack, intake: Intake, rounds: BreachRounds, hold_s: float, seed: int = 8
    ) -> None:
        self._stack = stack
        self._intake = intake
        self._rounds = rounds
        self._hold_s = hold_s
        self._random = random.Random(seed)

    async def inject(self, fault: Fault) -> Outcome:
        await self._aim(fault)
        broken = time.monotonic()
        await asyncio.to_thread(self._break, fault)
        await asyncio.sleep(self._hold_s)
        repaired = time.monotonic()
        await asyncio.to_thread(self._repair, fault)
        await self._stack.all_ready()
        ready = time.monotonic()
        await wait_caught_up(self._stack)
        caught_up = time.monotonic()
        accepted = await self._accepted_after(repaired)
        return Outcome(
            fault,
            down_s=repaired - broken,
            ready_s=ready - repaired,
            ingest_s=accepted - repaired,
            caught_up_s=caught_up - repaired,
        )

    async def _aim(self, fault: Fault) -> None:
        """Kill the notifier just after a breach transition, while it is likely sending (a
        kill between sending and recording is the one case that may repeat a message)."""
        if fault.target != "notifier":
            return
        try:
            await asyncio.wait_for(self._rounds.transition.wait(), 60)
        except TimeoutError:
            return
        await asyncio.sleep(self._random.uniform(0.0, 0.4))

    def _infra(self, target: str) -> KafkaServer | PostgresServer | None:
        servers: dict[str, KafkaServer | PostgresServer] = {
            "kafka": self._stack.kafka,
            "postgres": self._stack.postgres,
        }
        return servers.get(target)

    def _break(self, fault: Fault) -> None:
        server = self._infra(fault.target)
        if server is None:
            self._stack.services[fault.target].kill()
        elif fault.mode == "crash":
            server.kill()
        else:
            server.stop()

    def _repair(self, fault: Fault) -> None:
        server = self._infra(fault.target)
        if server is None:
            self._stack.services[fault.target].start()
        else:
            server.start()

    async def _accepted_after(self, t: float, timeout_s: float = 120.0) -> float:
        deadline = time.monotonic() + timeout_s
        while (found := self._intake.first_accept_after(t)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"ingest accepted nothing within {timeout_s:.0f}s")
            await asyncio.sleep(0.1)
        return found
