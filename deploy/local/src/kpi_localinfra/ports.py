"""The local stack's default ports, and who holds a port that is taken (stdlib only).

Every default lies below Linux's ephemeral port range (32768-60999 by default,
`/proc/sys/net/ipv4/ip_local_port_range`), from which the kernel picks the source port of
outgoing connections. A listener inside that range can find its port taken by some
client's socket, and a client reconnecting to a stopped local server on such a port can be
given that very port as its own and connect to itself (seen with Kafka on 59092).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PG = 15432
KAFKA = 19092
KAFKA_CONTROLLER = 19093
SMTP_SINK = 2525  # the local mail sink (`make up`, the demo)
SLACK_SINK = 8025  # the demo's Slack stand-in, served beside the mail sink
SERVICES = {"goals": 8001, "metrics-ingest": 8002, "evaluator": 8003, "notifier": 8004}
WEB = 8005  # the read-only web view (services/web), which reads the four over HTTP

DEFAULTS: dict[str, int] = {
    "KPI_PG_PORT": PG,
    "KPI_KAFKA_PORT": KAFKA,
    "KPI_KAFKA_CONTROLLER_PORT": KAFKA_CONTROLLER,
    "KPI_DEMO_SMTP_PORT": SMTP_SINK,
    "KPI_DEMO_SLACK_PORT": SLACK_SINK,
    "KPI_GOALS_PORT": SERVICES["goals"],
    "KPI_INGEST_PORT": SERVICES["metrics-ingest"],
    "KPI_EVALUATOR_PORT": SERVICES["evaluator"],
    "KPI_NOTIFIER_PORT": SERVICES["notifier"],
    "KPI_WEB_PORT": WEB,
}
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LISTEN = "0A"


def ephemeral_range(path: Path = EPHEMERAL_RANGE_FILE) -> tuple[int, int]:
    """The machine's ephemeral port range (first, last), read from /proc."""
    first, last = path.read_text().split()
    return int(first), int(last)


def taken_message(port: int) -> str:
    """The error for a port something else holds, naming the process when it can."""
    who = holder(port)
    return f"port {port} is already in use by {who or 'another process'}"


def holder(port: int, proc: Path = Path("/proc")) -> str | None:
    """`pid N (command line)` of the process holding a TCP socket on local `port` (a
    listener first), read from /proc/net/tcp[6] and /proc/*/fd; None if not found (not
    Linux, or a process of another user)."""
    inodes = _socket_inodes(port, proc)
    if not inodes:
        return None
    for pid_dir in proc.glob("[0-9]*"):
        if _holds(pid_dir, inodes):
            return f"pid {pid_dir.name} ({_cmdline(pid_dir) or 'command line unknown'})"
    return None


def _socket_inodes(port: int, proc: Path) -> list[str]:
    """Inodes of sockets bound to local `port`, listeners before the others."""
    found: list[tuple[bool, str]] = []
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in (proc / "net" / table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rpartition(":")[2], 16)
                if local_port == port and fields[9] != "0":
                    found.append((fields[3] != _LISTEN, fields[9]))
    return [inode for _, inode in sorted(found)]


def _holds(pid_dir: Path, inodes: list[str]) -> bool:
    wanted = {f"socket:[{inode}]" for inode in inodes}
    try:
        return any(os.readlink(fd) in wanted for fd in (pid_dir / "fd").iterdir())
    except OSError:
        return False


def _cmdline(pid_dir: Path) -> str:
    try:
        raw = (pid_dir / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:200]
