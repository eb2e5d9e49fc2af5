"""A disposable PostgreSQL server from the system's binaries, in a folder of our choosing."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

from kpi_localinfra._proc import (
    InfraError,
    children_of,
    cmdline,
    file_lock,
    pid_alive,
    port_open,
    progress,
    read_pid,
    send_signal,
    tail,
    wait_gone,
    wait_port_closed,
)
from kpi_localinfra.ports import taken_message

HOST = "127.0.0.1"
SUPERUSER = "postgres"
FALLBACK_OS_USER = "kpi-pg"
INCLUDE_FILE = "kpi_local.conf"
LOG_FILE = "postgres.log"
_SOCKET_PATH_MAX = 107  # sizeof(sockaddr_un.sun_path) - 1


def find_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<v>/bin (or KPI_PG_BINDIR, or pg_ctl on PATH)."""
    override = os.environ.get("KPI_PG_BINDIR")
    if override:
        return Path(override)
    candidates = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()]
    if candidates:
        return max(candidates, key=lambda p: _version_key(p.parent.name))
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name)) or (0,)


def ensure_bindir() -> Path:
    """Find the PostgreSQL binaries, installing the Debian package when missing."""
    found = find_bindir()
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise InfraError(
            "PostgreSQL binaries not found: install the 'postgresql' package "
            "or set KPI_PG_BINDIR to the folder holding initdb and pg_ctl"
        )
    progress("PostgreSQL not found, installing it with apt-get (one time)...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            output = (done.stdout + done.stderr)[-4000:]
            raise InfraError(f"{' '.join(args)} failed:\n{output}")
    found = find_bindir()
    if found is None:
        raise InfraError("apt-get installed postgresql but no initdb was found")
    return found


def _os_user() -> str | None:
    """The unprivileged account the server runs as when we are root (None if not root)."""
    if os.geteuid() != 0:
        return None
    for name in (os.environ.get("KPI_PG_OS_USER"), SUPERUSER, FALLBACK_OS_USER):
        if name and _user_exists(name):
            return name
    progress(f"running as root: creating system user {FALLBACK_OS_USER!r} for PostgreSQL")
    subprocess.run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            FALLBACK_OS_USER,
        ],
        check=True,
        capture_output=True,
    )
    return FALLBACK_OS_USER


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _is_postgres(pid: int) -> bool:
    """A live (not zombie) postgres process; guards against reused pids."""
    return pid_alive(pid) and "postgres" in cmdline(pid)


class PostgresServer:
    """One PostgreSQL cluster in `data_dir`, listening on 127.0.0.1:`port` only.

    Trust authentication for the `postgres` role; database `kpi` is created on start.
    When running as root the server runs as the `postgres` (or `kpi-pg`) system user.
    """

    def __init__(self, data_dir: Path, port: int, *, database: str = "kpi") -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.database = database
        self._bindir: Path | None = None
        self._user: str | None = None

    @property
    def url(self) -> str:
        """SQLAlchemy URL for the asyncpg driver."""
        return f"postgresql+asyncpg://{SUPERUSER}@{HOST}:{self.port}/{self.database}"

    @property
    def dsn(self) -> str:
        """Plain libpq/asyncpg DSN."""
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{self.database}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE

    def pid(self) -> int | None:
        """The postmaster pid if this data folder's server is running."""
        pid = read_pid(self.data_dir / "postmaster.pid")
        return pid if pid is not None and _is_postgres(pid) else None

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self, timeout: float = 60.0) -> None:
        """initdb if needed, start, wait until it accepts connections, create the database."""
        with file_lock(self._lock_path()):
            if self.is_running():
                self._check_running_port()
            else:
                self._start_fresh(timeout)
            self._wait_ready(timeout)
            self._ensure_database()

    def stop(self, timeout: float = 60.0) -> None:
        """Fast shutdown (pg_ctl stop -m fast); falls back to kill(). No process is left."""
        if not self.data_dir.is_dir():
            return
        with file_lock(self._lock_path()):
            pid = self.pid()
            if pid is None:
                return
            done = self._pg_ctl("stop", "-m", "fast", "-w", "-t", str(int(timeout)))
            if done.returncode != 0 or not wait_gone([pid], 5.0):
                progress(f"pg_ctl stop failed, killing postgres pid {pid}: {done.stderr.strip()}")
                self._kill_tree(pid)
            self._wait_closed()

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends (simulates a crash)."""
        pid = self.pid()
        if pid is not None:
            self._kill_tree(pid)
            self._wait_closed()

    # -- start ---------------------------------------------------------------------------

    def _start_fresh(self, timeout: float) -> None:
        if port_open(HOST, self.port):
            raise InfraError(taken_message(self.port))
        started = time.monotonic()
        self._prepare_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._write_settings()
        self._remove_stale_locks()
        done = self._pg_ctl("start", "-w", "-t", str(int(timeout)), "-l", str(self.log_file))
        if done.returncode != 0:
            self.kill()
            raise InfraError(
                f"PostgreSQL failed to start on port {self.port}: {done.stderr.strip()}\n"
                f"--- {self.log_file} ---\n{tail(self.log_file)}"
            )
        progress(f"PostgreSQL up on {HOST}:{self.port} in {time.monotonic() - started:.1f}s")

    def _remove_stale_locks(self) -> None:
        """Drop lock files of a crashed server.

        PostgreSQL itself refuses to start while the pid in a lock file answers kill(pid, 0),
        which a killed but not yet reaped (zombie) postmaster still does.
        """
        for lock in [self.data_dir / "postmaster.pid", *self.data_dir.glob(".s.PGSQL.*.lock")]:
            pid = read_pid(lock)
            if pid is None or not _is_postgres(pid):
                lock.unlink(missing_ok=True)

    def _initdb(self) -> None:
        if any(self.data_dir.iterdir()):
            raise InfraError(f"{self.data_dir} is neither empty nor a PostgreSQL data folder")
        progress(f"initdb {self.data_dir}")
        done = self._run(
            self._bin("initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        if done.returncode != 0:
            raise InfraError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\n# kpi-localinfra: listen address, port, socket dir\n"
                f"include_if_exists = '{INCLUDE_FILE}'\n"
            )

    def _write_settings(self) -> None:
        settings = {
            "listen_addresses": f"'{HOST}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self._socket_dir()}'",
            "max_connections": "200",
            # disposable development data: trade durability for speed
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        path = self.data_dir / INCLUDE_FILE
        path.write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
        self._chown(path)

    def _socket_dir(self) -> str:
        """The data folder, unless the socket path would be too long (then TCP only)."""
        socket_path = f"{self.data_dir}/.s.PGSQL.{self.port}"
        if len(socket_path.encode()) > _SOCKET_PATH_MAX:
            return ""
        return str(self.data_dir).replace("'", "''")

    def _check_running_port(self) -> None:
        lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        running_port = int(lines[3]) if len(lines) > 3 and lines[3].isdigit() else self.port
        if running_port != self.port:
            raise InfraError(
                f"PostgreSQL in {self.data_dir} already runs on port {running_port}, "
                f"not {self.port}"
            )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        isready = [self._bin("pg_isready"), "-q", "-h", HOST, "-p", str(self.port)]
        isready += ["-U", SUPERUSER, "-d", "postgres", "-t", "2"]
        while subprocess.run(isready, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise InfraError(
                    f"PostgreSQL on port {self.port} not ready after {timeout:.0f}s\n"
                    f"--- {self.log_file} ---\n{tail(self.log_file)}"
                )
            time.sleep(0.2)

    def _ensure_database(self) -> None:
        query = f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"
        found = self._client("psql", "-d", "postgres", "-tAc", query)
        if found.returncode != 0:
            raise InfraError(f"psql failed: {found.stderr.strip()}")
        if found.stdout.strip() == "1":
            return
        created = self._client("createdb", self.database)
        if created.returncode != 0 and "already exists" not in created.stderr:
            raise InfraError(f"createdb {self.database} failed: {created.stderr.strip()}")

    # -- files and users -----------------------------------------------------------------

    def _lock_path(self) -> Path:
        return self.data_dir.parent / f".{self.data_dir.name}.lock"

    def _prepare_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = self._os_user()
        if user is None:
            self.data_dir.chmod(0o700)
            return
        uid = pwd.getpwnam(user).pw_uid
        if self.data_dir.stat().st_uid != uid:
            for path in [self.data_dir, *self.data_dir.rglob("*")]:
                self._chown(path)
        self.data_dir.chmod(0o700)
        self._make_traversable(uid)

    def _make_traversable(self, uid: int) -> None:
        """Let the server's user reach data_dir: add o+x on ancestors lacking it."""
        for parent in reversed(self.data_dir.parents):
            mode = parent.stat()
            if mode.st_uid != uid and not mode.st_mode & stat.S_IXOTH:
                progress(f"granting search permission (o+x) on {parent} for the postgres user")
                parent.chmod(stat.S_IMODE(mode.st_mode) | stat.S_IXOTH)

    def _chown(self, path: Path) -> None:
        user = self._os_user()
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)

    def _os_user(self) -> str | None:
        if self._user is None and os.geteuid() == 0:
            self._user = _os_user()
        return self._user

    # -- commands ------------------------------------------------------------------------

    def _bin(self, name: str) -> str:
        if self._bindir is None:
            self._bindir = ensure_bindir()
        return str(self._bindir / name)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a server-side command as the server's OS user."""
        user = self._os_user()
        prefix = ["runuser", "-u", user, "--"] if user else []
        return subprocess.run(
            [*prefix, *args],
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            start_new_session=True,
        )

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self._run(self._bin("pg_ctl"), "-D", str(self.data_dir), *args)

    def _client(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a client tool over TCP as the postgres role (works as root too)."""
        base = [self._bin(tool), "-w", "-h", HOST, "-p", str(self.port), "-U", SUPERUSER]
        env = {**os.environ, "PGCONNECT_TIMEOUT": "5"}
        return subprocess.run(
            [*base, *args],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            stdin=subprocess.DEVNULL,
        )

    # -- stop ----------------------------------------------------------------------------

    def _kill_tree(self, pid: int) -> None:
        pids = [pid, *children_of(pid)]
        for each in pids:
            send_signal(each, signal.SIGKILL)
        if not wait_gone(pids, 10.0):
            raise InfraError(f"postgres processes {pids} survived SIGKILL")

    def _wait_closed(self) -> None:
        if not wait_port_closed(HOST, self.port, 10.0):
            raise InfraError(f"port {self.port} still open after stopping PostgreSQL")
