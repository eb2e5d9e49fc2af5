"""The faults and how long the system takes to recover from each.

A service fault is a SIGKILL of its whole process group, then a fresh start. Kafka and
PostgreSQL are either SIGKILLed (`crash`) or stopped cleanly (`restart`), then started on the
same data and ports; in the cluster form one broker at a time (`chaos/cluster.py`), and the
evaluator is scaled in to one replica, then out again. Recovery is measured from the moment
the repair began:
- ready: every service's `/readyz` answers 200 again;
- ingest: the first request sent after the repair is acknowledged (202);
- caught up: the evaluator has stored offsets up to the end `metrics.events` had once
  everything was ready (its lag back to 0).
The longest time without an acknowledged batch from the fault to the recovery (`gap`) shows
what the load felt: with replicas and three brokers, a fault should barely show in it.
"""

import asyncio
import random
import time
from dataclasses import dataclass

from kpi_localinfra import KafkaCluster, KafkaServer, PostgresServer

from chaos import cluster
from chaos.load import BreachRounds, Intake
from chaos.observe import wait_caught_up
from chaos.stack import NAMES, Stack, replica


@dataclass(frozen=True)
class Fault:
    target: str  # a replica's name, "kafka", "postgres", "broker:<role>" (cluster.ROLES)
    mode: str  # "sigkill" (services), "crash" or "restart"/"stop" (infrastructure), "scale"
    replicas: int = 0  # "scale": the evaluator goes down to 1 replica, then out to this many

    def __str__(self) -> str:
        if self.mode == "scale":
            return f"scale {self.target} 1->{self.replicas}"
        return f"{self.mode} {self.target}"


@dataclass(frozen=True)
class Outcome:
    fault: Fault
    down_s: float
    ready_s: float
    ingest_s: float
    caught_up_s: float
    gap_s: float = 0.0  # the longest time without an acknowledged batch, fault to recovery
    detail: str = ""  # which node a broker fault hit
    at: float = 0.0  # when it began (epoch seconds, comparable with the mail sink's times)

    @property
    def recovery_s(self) -> float:
        return max(self.ready_s, self.ingest_s, self.caught_up_s)


def interrupts(outcomes: list[Outcome]) -> list[tuple[float, float]]:
    """From when to when (epoch seconds, fault to repair) a fault that can fall between a
    notifier's send and its record was on: a notifier killed, PostgreSQL down."""
    hits = [o for o in outcomes if o.fault.target.startswith(("notifier", "postgres"))]
    return [(o.at, o.at + o.down_s) for o in hits]


def plan(repeats: int) -> list[Fault]:
    """Each service killed, Kafka and PostgreSQL each brought down, `repeats` times; the
    infrastructure alternates between a crash and a clean restart."""
    faults: list[Fault] = []
    for i in range(repeats):
        infra_mode = "crash" if i % 2 == 0 else "restart"
        faults += [Fault(name, "sigkill") for name in NAMES]
        faults += [Fault("kafka", infra_mode), Fault("postgres", infra_mode)]
    return faults


def cluster_plan(repeats: int, *, short: bool) -> list[Fault]:
    """The cluster form: a replica of each service killed (the first, then the second), the
    evaluator scaled 2 -> 1 -> 3 and 3 -> 1 -> 2, brokers brought down one at a time by role
    (the short form spares `broker:other`), PostgreSQL restarted, `repeats` times."""
    faults: list[Fault] = []
    for i in range(repeats):
        faults += [Fault(replica(name, 1 + (i + n) % 2), "sigkill") for n, name in enumerate(NAMES)]
        faults += [Fault("evaluator", "scale", 3), Fault("evaluator", "scale", 2)]
        first, second = ("crash", "stop") if i % 2 == 0 else ("stop", "crash")
        faults += [Fault("broker:leader", first), Fault("broker:controller", second)]
        faults += [] if short else [Fault("broker:other", "stop")]
        faults.append(Fault("postgres", "restart" if i % 2 == 0 else "crash"))
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
        self._brokers = cluster.Brokers(stack.kafka)
        self._node: KafkaServer | None = None  # the broker the current fault hits

    async def inject(self, fault: Fault) -> Outcome:
        detail = await self._aim(fault)
        broken, at = time.monotonic(), time.time()
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
            gap_s=self._intake.longest_gap(broken, max(caught_up, accepted)),
            detail=detail,
            at=at,
        )

    async def _aim(self, fault: Fault) -> str:
        """Pick the broker a broker fault hits; kill the notifier just after a breach
        transition, while it is likely sending (a kill between sending and recording is the
        one case that may repeat a message)."""
        if fault.target.startswith("broker:"):
            node_id = await self._brokers.choose(fault.target.removeprefix("broker:"))
            self._node = self._stack.kafka.nodes[node_id]
            return f"node {node_id}"
        if not fault.target.startswith("notifier"):
            return ""
        try:
            await asyncio.wait_for(self._rounds.transition.wait(), 60)
        except TimeoutError:
            return ""
        await asyncio.sleep(self._random.uniform(0.0, 0.4))
        return ""

    def _infra(self, target: str) -> KafkaCluster | KafkaServer | PostgresServer | None:
        if target.startswith("broker:"):
            return self._node
        servers: dict[str, KafkaCluster | PostgresServer] = {
            "kafka": self._stack.kafka,
            "postgres": self._stack.postgres,
        }
        return servers.get(target)

    def _break(self, fault: Fault) -> None:
        server = self._infra(fault.target)
        if fault.mode == "scale":
            cluster.scale(self._stack, fault.target, 1)
        elif server is None:
            self._stack.services[fault.target].kill()
        elif fault.mode == "crash":
            server.kill()
        else:
            server.stop()

    def _repair(self, fault: Fault) -> None:
        server = self._infra(fault.target)
        if fault.mode == "scale":
            cluster.scale(self._stack, fault.target, fault.replicas)
        elif server is None:
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
