"""A single-node Apache Kafka 4 (KRaft, broker+controller) run from plain jars."""

from __future__ import annotations

import base64
import os
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path

from kpi_localinfra._proc import (
    InfraError,
    cmdline,
    file_lock,
    pid_alive,
    port_open,
    progress,
    read_pid,
    send_signal,
    spawn_detached,
    tail,
    terminate,
    wait_gone,
    wait_port_closed,
)
from kpi_localinfra.kafka_jars import kafka_classpath
from kpi_localinfra.ports import taken_message

HOST = "127.0.0.1"
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
STARTED_MARKER = "Kafka Server started"
JVM_OPTIONS = (
    "-Xms128m",
    "-Xmx1g",  # 512m ran out of heap on a dev broker holding ~15,000 partitions
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    # C1 only: about half the start-up CPU on a small machine; plenty for a test broker.
    # KPI_KAFKA_JVM_OPTS="-XX:TieredStopAtLevel=4" restores the full JIT (later flags win).
    "-XX:TieredStopAtLevel=1",
)
LOG4J_TEMPLATE = """\
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
"""


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding.

    Like Kafka's Uuid.randomUuid(), never starting with "-" (the tools would read an option).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def api_versions_ok(host: str, port: int, timeout: float = 2.0) -> bool:
    """True if a Kafka broker answers an ApiVersions (v0) request on host:port."""
    client_id = b"kpi-localinfra"
    correlation = 7
    body = struct.pack(">hhih", 18, 0, correlation, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            got_correlation, error_code = struct.unpack(">ih", _recv_exact(sock, size)[:6])
    except (OSError, struct.error):
        return False
    return bool(got_correlation == correlation and error_code == 0)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks.extend(chunk)
    return bytes(chunks)


class KafkaServer:
    """One Kafka 4 node (process.roles=broker,controller) whose files live in `data_dir`.

    PLAINTEXT on 127.0.0.1:`port`, CONTROLLER on 127.0.0.1:`controller_port`.
    The JVM runs detached in its own process group; its pid is kept in `kafka.pid`.
    Alone by default; as node `node_id` of a cluster (`kafka_cluster.KafkaCluster`), `voters`
    is the quorum (`controller.quorum.voters`) and `cluster_size` sets the replication
    defaults: every topic on all nodes, a write acknowledged by a majority of them.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        controller_port: int,
        *,
        node_id: int = 1,
        voters: str | None = None,
        cluster_size: int = 1,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.controller_port = controller_port
        self.node_id = node_id
        self.voters = voters or f"{node_id}@{HOST}:{controller_port}"
        self.cluster_size = cluster_size

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def log_dir(self) -> Path:
        """Kafka's `log.dirs`: the partitions and the KRaft metadata log."""
        return self.data_dir / "kafka-data"

    @property
    def config_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def _pid_file(self) -> Path:
        return self.data_dir / "kafka.pid"

    def pid(self) -> int | None:
        """The broker's pid if the JVM for this data folder is alive."""
        pid = read_pid(self._pid_file)
        if pid is None or not pid_alive(pid):
            return None
        line = cmdline(pid)
        if line and (MAIN_CLASS not in line or str(self.config_file) not in line):
            return None  # the pid was reused by an unrelated process
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self, timeout: float = 120.0) -> None:
        """Format the storage once, start the JVM, wait until the broker serves requests."""
        with file_lock(self.data_dir / ".lock"):
            launched = not self.is_running()
            if launched:
                self._launch()
            else:
                self._check_running_config()
            self._wait_ready(timeout, kill_on_timeout=launched)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (controlled shutdown), SIGKILL after `timeout`; no process is left."""
        if not self.data_dir.is_dir():
            return
        with file_lock(self.data_dir / ".lock"):
            pid = self.pid()
            if pid is not None:
                terminate(pid, timeout, group=True)
            self._forget()
            if pid is not None:
                self._wait_closed()

    def kill(self) -> None:
        """SIGKILL the broker (simulates a crash); start() recovers the same data folder."""
        pid = self.pid()
        if pid is None:
            return
        send_signal(pid, signal.SIGKILL, group=True)
        if not wait_gone([pid], 10.0):
            raise InfraError(f"kafka pid {pid} survived SIGKILL")
        self._forget()
        self._wait_closed()

    # -- start ---------------------------------------------------------------------------

    def _launch(self) -> None:
        for port in (self.port, self.controller_port):
            if port_open(HOST, port):
                raise InfraError(taken_message(port))
        classpath = kafka_classpath()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        if not (self.log_dir / "meta.properties").exists():
            self._format(classpath)
        self._rotate_log()
        command = [
            _java(),
            *JVM_OPTIONS,
            *shlex.split(os.environ.get("KPI_KAFKA_JVM_OPTS", "")),
            *self._log_options("INFO"),
            "-cp",
            classpath,
            MAIN_CLASS,
            str(self.config_file),
        ]
        pid = spawn_detached(command, self.log_file)
        self._pid_file.write_text(f"{pid}\n")

    def _write_config(self) -> None:
        replicas, majority = str(self.cluster_size), str(self.cluster_size // 2 + 1)
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.voters,
            "listeners": self._listeners(),
            "advertised.listeners": f"PLAINTEXT://{HOST}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.log_dir),
            "num.partitions": "3",
            "default.replication.factor": replicas,
            "min.insync.replicas": majority,
            "unclean.leader.election.enable": "false",
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": replicas,
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": majority,
            "transaction.state.log.num.partitions": "10",
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": majority,
            "group.initial.rebalance.delay.ms": "0",
            # re-register quickly after a crash (the default waits 9 s for the old session)
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "4000",
            "num.network.threads": "2",
            "num.io.threads": "4",
        }
        self.config_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        for level, name in (("INFO", "log4j2.properties"), ("WARN", "log4j2-tools.properties")):
            (self.data_dir / name).write_text(LOG4J_TEMPLATE.format(level=level))

    def _log_options(self, level: str) -> list[str]:
        name = "log4j2.properties" if level == "INFO" else "log4j2-tools.properties"
        return [
            f"-Dlog4j2.configurationFile={self.data_dir / name}",
            f"-Dkafka.logs.dir={self.data_dir}",
        ]

    def _format(self, classpath: str) -> None:
        cluster_file = self.data_dir / "cluster.id"
        if not cluster_file.exists():
            cluster_file.write_text(new_cluster_id() + "\n")
        command = [
            _java(),
            "-Xmx256m",
            "-XX:TieredStopAtLevel=1",
            *self._log_options("WARN"),
            "-cp",
            classpath,
            STORAGE_TOOL,
            "format",
            "-t",
            cluster_file.read_text().strip(),
            "-c",
            str(self.config_file),
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
        )
        if done.returncode != 0:
            output = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
            raise InfraError(f"kafka storage format failed:\n{output}")

    def _rotate_log(self) -> None:
        if self.log_file.exists():
            self.log_file.replace(self.data_dir / "server.log.1")

    # -- readiness -----------------------------------------------------------------------

    def _check_running_config(self) -> None:
        """A server already running for this folder must use our ports."""
        wanted = f"listeners={self._listeners()}"
        if wanted not in self.config_file.read_text().splitlines():
            raise InfraError(
                f"Kafka in {self.data_dir} already runs with other ports than "
                f"{self.port}/{self.controller_port}; stop it first"
            )

    def _listeners(self) -> str:
        return f"PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}"

    def _wait_ready(self, timeout: float, *, kill_on_timeout: bool) -> None:
        if self._ready():
            return
        started = time.monotonic()
        progress(f"waiting for Kafka on {self.bootstrap}...")
        while not self._ready():
            if not self.is_running():
                self._fail("Kafka exited during startup")
            if time.monotonic() - started > timeout:
                if kill_on_timeout:
                    self.kill()
                self._fail(f"Kafka not ready on {self.bootstrap} after {timeout:.0f}s")
            time.sleep(0.2)
        progress(f"Kafka up on {self.bootstrap} in {time.monotonic() - started:.1f}s")

    def _ready(self) -> bool:
        """The server logged its start and answers on the PLAINTEXT port."""
        try:
            logged = STARTED_MARKER in self.log_file.read_text(errors="replace")
        except OSError:
            return False
        return logged and api_versions_ok(HOST, self.port)

    def _fail(self, message: str) -> None:
        raise InfraError(f"{message}\n--- {self.log_file} ---\n{tail(self.log_file)}")

    # -- stop ----------------------------------------------------------------------------

    def _forget(self) -> None:
        self._pid_file.unlink(missing_ok=True)

    def _wait_closed(self) -> None:
        for port in (self.port, self.controller_port):
            if not wait_port_closed(HOST, port, 10.0):
                raise InfraError(f"port {port} still open after stopping Kafka")


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise InfraError("java not found: install a JDK 17+ or set JAVA_HOME")
    return found
