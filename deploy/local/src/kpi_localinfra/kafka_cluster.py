"""An N-node Apache Kafka 4 cluster in KRaft combined mode (each node broker and controller),
one `KafkaServer` per node under one folder. One node is today's single broker; three give
replication factor 3 with `min.insync.replicas=2` by default (`KafkaServer`'s settings)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kpi_localinfra._proc import InfraError
from kpi_localinfra.kafka import HOST, KafkaServer, _java, new_cluster_id
from kpi_localinfra.kafka_jars import kafka_classpath

QUORUM_TOOL = "org.apache.kafka.tools.MetadataQuorumCommand"
_LEADER = re.compile(r"^LeaderId:\s*(\d+)", re.MULTILINE)


class KafkaCluster:
    """Nodes 1..N, node i on `ports[i-1]` = (PLAINTEXT port, CONTROLLER port), its files in
    `data_dir/node-<i>`; all share one cluster id and one controller quorum."""

    def __init__(self, data_dir: Path, ports: list[tuple[int, int]]) -> None:
        if not ports:
            raise ValueError("ports: at least one (port, controller port) pair")
        self.data_dir = Path(data_dir).absolute()
        voters = ",".join(f"{i}@{HOST}:{c}" for i, (_, c) in enumerate(ports, 1))
        self.nodes = {
            i: KafkaServer(
                self.data_dir / f"node-{i}",
                port,
                controller,
                node_id=i,
                voters=voters,
                cluster_size=len(ports),
            )
            for i, (port, controller) in enumerate(ports, 1)
        }

    @property
    def bootstrap(self) -> str:
        """Every node, comma-separated (`KPI_KAFKA_BOOTSTRAP`)."""
        return ",".join(node.bootstrap for node in self.nodes.values())

    def start(self, timeout: float = 180.0) -> None:
        """Start every node that is not running, together (a node of a quorum of three
        finishes starting only once a majority of the quorum is up)."""
        self._share_cluster_id()
        self._each(lambda node: node.start(timeout))

    def stop(self) -> None:
        """Stop every node (controlled shutdown); no process is left."""
        self._each(lambda node: node.stop())

    def kill(self) -> None:
        """SIGKILL every node (a whole-cluster crash)."""
        self._each(lambda node: node.kill())

    def active_controller(self, timeout: float = 60.0) -> int:
        """The node id of the quorum's leader (the active controller), from Kafka's own
        `kafka-metadata-quorum describe --status`."""
        command = [
            _java(),
            "-Xmx128m",
            "-XX:TieredStopAtLevel=1",
            *next(iter(self.nodes.values()))._log_options("WARN"),
            "-cp",
            kafka_classpath(),
            QUORUM_TOOL,
            "--bootstrap-server",
            self.bootstrap,
            "describe",
            "--status",
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
        found = _LEADER.search(done.stdout)
        if done.returncode != 0 or found is None:
            raise InfraError(f"kafka-metadata-quorum failed:\n{done.stdout}{done.stderr}")
        return int(found.group(1))

    def _share_cluster_id(self) -> None:
        cluster_file = self.data_dir / "cluster.id"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not cluster_file.exists():
            cluster_file.write_text(new_cluster_id() + "\n")
        for node in self.nodes.values():
            node.data_dir.mkdir(parents=True, exist_ok=True)
            (node.data_dir / "cluster.id").write_text(cluster_file.read_text())

    def _each(self, action: Callable[[KafkaServer], None]) -> None:
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            for future in [pool.submit(action, node) for node in self.nodes.values()]:
                future.result()
