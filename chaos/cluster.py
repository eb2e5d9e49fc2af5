"""The cluster form's own faults (`python -m chaos --cluster`): brokers stopped one at a time,
each chosen by its role in Kafka's own view, and the evaluator scaled in and out under load.

- `broker:leader`: the broker leading the busiest `metrics.events` partition (the one with
  the most records; the load's one metric goes to one partition), from the partition
  metadata;
- `broker:controller`: the active controller (the KRaft quorum's leader), from
  `kafka-metadata-quorum describe --status`;
- `broker:other`: a broker the round has not hit yet.
"""

from aiokafka.admin import AIOKafkaAdminClient
from kpi_common.topic_reads import end_offsets
from kpi_common.topics import METRICS_EVENTS
from kpi_localinfra import KafkaCluster

from chaos.stack import Stack, replica

ROLES = ("leader", "controller", "other")


class Brokers:
    """Chooses the broker a fault hits, by its role at that moment."""

    def __init__(self, kafka: KafkaCluster) -> None:
        self._kafka = kafka
        self._hit: list[int] = []

    async def choose(self, role: str) -> int:
        if role == "leader":
            node = await busiest_leader(self._kafka.bootstrap)
        elif role == "controller":
            node = self._kafka.active_controller()
        else:
            spared = [n for n in self._kafka.nodes if n not in self._hit[-2:]]
            node = spared[0]
        self._hit.append(node)
        return node


async def busiest_leader(bootstrap: str) -> int:
    """The node leading the `metrics.events` partition that holds the most records."""
    ends = await end_offsets(bootstrap, METRICS_EVENTS.name)
    busiest = max(ends, key=lambda tp: ends[tp]).partition
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        (topic,) = await admin.describe_topics([METRICS_EVENTS.name])
    finally:
        await admin.close()
    return next(int(p["leader"]) for p in topic["partitions"] if p["partition"] == busiest)


def scale(stack: Stack, name: str, replicas: int) -> None:
    """Run `replicas` replicas of service `name`: the first ones, started or stopped cleanly
    (SIGTERM: each leaves its consumer group, which rebalances)."""
    for i in range(1, stack.shape.count(name) + 1):
        key = replica(name, i)
        running = key in stack.active
        if i <= replicas and not running:
            stack.services[key].start()
            stack.active.add(key)
        elif i > replicas and running:
            stack.active.discard(key)
            stack.services[key].stop()
