"""The local stack's default ports lie below the machine's ephemeral port range, and a taken
port is reported with the process holding it."""

import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from kpi_common.settings import ServiceSettings
from kpi_localinfra import InfraError, KafkaServer, PostgresServer, ports, processes
from kpi_localinfra.mailsink import MailSink, MailSinkError

from demo import stack as demo_stack


def _ephemeral() -> range:
    first, last = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return range(int(first), int(last) + 1)


def test_every_default_port_lies_outside_the_ephemeral_range() -> None:
    ephemeral = _ephemeral()
    database_url, kafka_bootstrap = _settings_defaults()
    defaults = {
        **ports.DEFAULTS,
        "database_url": urlsplit(database_url).port,
        "kafka_bootstrap": int(kafka_bootstrap.rpartition(":")[2]),
        "demo smtp": demo_stack.SMTP_PORT,
        "demo slack": demo_stack.SLACK_PORT,
        **{spec.name: spec.port for spec in processes.STACK},
    }
    inside = {name: port for name, port in defaults.items() if port in ephemeral}
    assert inside == {}, f"inside the ephemeral range {ephemeral}: {inside}"
    assert ports.ephemeral_range() == (ephemeral.start, ephemeral.stop - 1)


def _settings_defaults() -> tuple[str, str]:
    """The services' defaults (not the environment, which names the shared test stack)."""
    fields = ServiceSettings.model_fields
    return str(fields["database_url"].default), str(fields["kafka_bootstrap"].default)


def test_the_shared_settings_default_to_the_local_stack() -> None:
    database_url, kafka_bootstrap = _settings_defaults()
    assert urlsplit(database_url).port == ports.PG
    assert kafka_bootstrap == f"127.0.0.1:{ports.KAFKA}"


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port this test process listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_the_holder_of_a_taken_port_is_named(held_port: int) -> None:
    me = f"pid {os.getpid()} ("
    assert (ports.holder(held_port) or "").startswith(me)
    assert ports.taken_message(held_port).startswith(f"port {held_port} is already in use by {me}")
    free = processes.free_ports(1)[0]
    assert ports.holder(free) is None


def test_postgres_and_kafka_name_the_process_on_their_port(held_port: int, tmp_path: Path) -> None:
    me = re.escape(f"pid {os.getpid()} (")
    with pytest.raises(InfraError, match=rf"port {held_port} is already in use by {me}"):
        PostgresServer(tmp_path / "pg", held_port).start(timeout=5)
    other = processes.free_ports(1)[0]
    with pytest.raises(InfraError, match=rf"port {held_port} is already in use by {me}"):
        KafkaServer(tmp_path / "kafka", other, held_port).start(timeout=5)


def test_services_and_the_mail_sink_name_the_process_on_their_port(
    held_port: int, tmp_path: Path
) -> None:
    me = re.escape(f"pid {os.getpid()} (")
    env = {"KPI_SMTP_HOST": "mail.example", "KPI_GOALS_PORT": str(held_port)}
    with pytest.raises(RuntimeError, match=rf"goals: port {held_port} .* by {me}"):
        processes.up(tmp_path / "run", env)
    assert not (tmp_path / "run" / "goals.pid").exists()
    sink = MailSink(held_port, processes.free_ports(1)[0], tmp_path / "sinks")
    with pytest.raises(MailSinkError, match=rf"port {held_port} .* by {me}"):
        sink.ensure_running(tmp_path / "run")
