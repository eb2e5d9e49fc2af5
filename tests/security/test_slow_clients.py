"""Slow clients (slowloris): connections that send their headers or body a byte at a time do
not stop a service run as a real process (uvicorn) from serving everyone else."""

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Infra
from tests.support.procs import ServiceProcess, running

SLOW_HEADERS = 40  # connections that never finish their headers
SLOW_BODIES = 40  # connections that promise a body and send a few bytes of it


@pytest.fixture
def ingest(infra: Infra, tmp_path: Path) -> Iterator[ServiceProcess]:
    env = {
        "KPI_DATABASE_URL": infra.database_url,
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": f"{infra.topic_prefix}slow.",
        "KPI_LOG_LEVEL": "WARNING",
    }
    with running("metrics-ingest", env, tmp_path) as svc:
        yield svc


def _open(port: int, first: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(first)
    return sock


def _served(url: str) -> list[int]:
    """What a normal client gets meanwhile (each request bounded by the client timeout)."""
    with httpx.Client(base_url=url, timeout=10) as client:
        codes = [client.get("/healthz").status_code for _ in range(10)]
        codes.append(client.post("/v1/events", json=[]).status_code)  # no key: 401
        codes.append(client.get("/openapi.json").status_code)
    return codes


def test_slow_clients_do_not_stop_others_from_being_served(ingest: ServiceProcess) -> None:
    partial_headers = b"POST /v1/events HTTP/1.1\r\nHost: slow\r\nX-Slow: "
    partial_body = (
        b"POST /v1/events HTTP/1.1\r\nHost: slow\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n[{"
    )
    slow = [_open(ingest.port, partial_headers) for _ in range(SLOW_HEADERS)]
    slow += [_open(ingest.port, partial_body) for _ in range(SLOW_BODIES)]
    try:
        assert _served(ingest.url) == [200] * 10 + [401, 200]
        for sock in slow:  # one more byte each: still unfinished
            sock.sendall(b"a")
        assert _served(ingest.url) == [200] * 10 + [401, 200]
    finally:
        for sock in slow:
            sock.close()
    assert ingest.proc is not None
    assert ingest.proc.poll() is None, ingest.log_tail()
