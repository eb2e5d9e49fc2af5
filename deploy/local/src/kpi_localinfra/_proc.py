"""Small process, port and file helpers shared by the servers (stdlib only)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

PREFIX = "[kpi-localinfra]"


class InfraError(RuntimeError):
    """A local server could not be prepared, started, reached or stopped."""


def progress(message: str) -> None:
    """Report long-running work on stderr (stdout stays clean for `eval`)."""
    print(f"{PREFIX} {message}", file=sys.stderr, flush=True)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port_closed(host: str, port: int, timeout: float) -> bool:
    """Wait until nothing listens on host:port; False on timeout."""
    deadline = time.monotonic() + timeout
    while port_open(host, port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def read_pid(path: Path) -> int | None:
    """The pid on the first line of a pid file, or None."""
    try:
        first = path.read_text().split("\n", 1)[0].strip()
    except OSError:
        return None
    return int(first) if first.isdigit() else None


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child (avoids zombies)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _proc_state(pid: int) -> str | None:
    """The state letter from /proc/<pid>/stat; None if unknown or gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    _reap(pid)
    if Path("/proc").is_dir():
        state = _proc_state(pid)
        return state is not None and state not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cmdline(pid: int) -> str:
    """The command line of a process, arguments joined by spaces ("" if unknown)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def children_of(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc scan; empty elsewhere)."""
    found: list[int] = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid):
            found.append(int(entry.parent.name))
    return found


def wait_gone(pids: list[int], timeout: float) -> bool:
    """Wait until none of `pids` is alive; False on timeout."""
    deadline = time.monotonic() + timeout
    while any(pid_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def send_signal(pid: int, sig: signal.Signals, *, group: bool = False) -> None:
    """Signal a process (or its process group), ignoring ones already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group and os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def terminate(pid: int, timeout: float, *, group: bool = False) -> None:
    """SIGTERM, wait up to `timeout` seconds, then SIGKILL; returns when it is gone."""
    if not pid_alive(pid):
        return
    send_signal(pid, signal.SIGTERM, group=group)
    if wait_gone([pid], timeout):
        return
    progress(f"pid {pid} did not stop within {timeout:.0f}s, sending SIGKILL")
    send_signal(pid, signal.SIGKILL, group=group)
    if not wait_gone([pid], 10.0):
        raise InfraError(f"pid {pid} survived SIGKILL")


def spawn_detached(command: list[str], log_file: Path) -> int:
    """Start `command` in its own session, stdout+stderr appended to `log_file`; its pid.

    posix_spawn rather than Popen: no Popen object that warns (ResourceWarning) when it is
    garbage collected while the server keeps running. pid_alive() reaps it once it exits.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    actions: list[tuple[int, int] | tuple[int, int, str, int, int] | tuple[int, int, int]] = [
        (os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited_fds()
    ]
    actions += [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_file), flags, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    return os.posix_spawn(command[0], command, dict(os.environ), file_actions=actions, setsid=True)


def _inherited_fds() -> list[int]:
    """Our file descriptors above stderr that a child would inherit (like close_fds)."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return []
    found = []
    for fd in (int(name) for name in names if name.isdigit()):
        with contextlib.suppress(OSError):
            if fd > 2 and os.get_inheritable(fd):
                found.append(fd)
    return found


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a text file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock held for the duration of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
