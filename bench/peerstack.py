"""What a user would otherwise run for (g): a real Prometheus (Debian package) scraping a tiny
exporter of the bench, with an alert rule equivalent to the budget KPI's target (as goals
answers it: BenchTenant.target), and a real
Alertmanager that routes the alert by email to the same SMTP sink as the notifier. Each runs
as its own process on 127.0.0.1 with its configuration and data in a temporary folder."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from kpi_localinfra.processes import free_ports
from prometheus_client import CollectorRegistry, Gauge, start_http_server

PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"  # the Debian package's name for the binary
ALERT = "BenchBudgetOverBudget"
GAUGE = "bench_peer_spend_usd"
JOB = "bench-peer"
READY_S = 30.0


@dataclass(frozen=True)
class Intervals:
    """Prometheus' scrape and rule evaluation intervals, Alertmanager's route group_wait."""

    scrape_s: int = 15
    evaluation_s: int = 15
    group_wait_s: int = 30

    @property
    def label(self) -> str:
        return f"{self.scrape_s}s/{self.evaluation_s}s/{self.group_wait_s}s"

    @property
    def worst_s(self) -> int:
        """The longest a breach can take to be mailed, if every step waits a full interval."""
        return self.scrape_s + self.evaluation_s + self.group_wait_s


def require_binaries() -> dict[str, str]:
    """Where the two binaries are, or a clear error naming `make bootstrap`."""
    found = {name: shutil.which(name) for name in (PROMETHEUS, ALERTMANAGER)}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise RuntimeError(
            f"{' and '.join(missing)} not installed: run `make bootstrap` "
            "(it installs the Debian packages prometheus and prometheus-alertmanager)"
        )
    return {name: path for name, path in found.items() if path}


def prometheus_config(intervals: Intervals, exporter: int, alertmanager: int) -> dict[str, Any]:
    timeout = min(10, intervals.scrape_s)  # 10s is Prometheus' default scrape_timeout
    return {
        "global": {
            "scrape_interval": f"{intervals.scrape_s}s",
            "evaluation_interval": f"{intervals.evaluation_s}s",
            "scrape_timeout": f"{timeout}s",
        },
        "rule_files": ["rules.yml"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [_at(alertmanager)]}]}]},
        "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [_at(exporter)]}]}],
    }


def alert_rules(budget: float) -> dict[str, Any]:
    """The budget KPI's target as an alert rule: over budget, firing at once."""
    rule = {
        "alert": ALERT,
        "expr": f"{GAUGE} > {budget:g}",
        "for": "0s",
        "labels": {"severity": "page"},
        "annotations": {"summary": f"spent {{{{ $value }}}} USD of a {budget:g} USD budget"},
    }
    return {"groups": [{"name": JOB, "rules": [rule]}]}


def alertmanager_config(intervals: Intervals, smtp_port: int, run: str) -> dict[str, Any]:
    email = {
        "to": "ops@bench.example",
        "send_resolved": False,
        "headers": {"Subject": f"Alertmanager {run}: {{{{ .CommonLabels.alertname }}}}"},
        "text": "{{ range .Alerts }}{{ .Labels.alertname }}: {{ .Annotations.summary }}\n{{ end }}",
    }
    return {
        "global": {
            "smtp_smarthost": _at(smtp_port),
            "smtp_from": "alertmanager@bench.example",
            "smtp_require_tls": False,
        },
        "route": {
            "receiver": "owner",
            "group_by": ["alertname"],
            "group_wait": f"{intervals.group_wait_s}s",
            "group_interval": "5m",  # Alertmanager's defaults; they do not delay a first alert
            "repeat_interval": "4h",
        },
        "receivers": [{"name": "owner", "email_configs": [email]}],
    }


def _at(port: int) -> str:
    return f"127.0.0.1:{port}"


@dataclass
class Daemon:
    """A binary run as its own process group, its output in `<name>.log`."""

    name: str
    args: list[str]
    folder: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.folder / f"{self.name}.log").open("ab") as log:
            self.proc = subprocess.Popen(
                self.args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.log_tail()}")

    def log_tail(self) -> str:
        path = self.folder / f"{self.name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


class Exporter:
    """The business value as a gauge on `/metrics`, served from a thread of the bench."""

    def __init__(self, port: int) -> None:
        registry = CollectorRegistry()
        self.gauge = Gauge(GAUGE, "Spend of the bench's peer budget.", registry=registry)
        self._server, self._thread = start_http_server(port, "127.0.0.1", registry)
        self.port = int(self._server.server_port)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@dataclass
class PeerStack:
    """Exporter, Prometheus and Alertmanager, started and ready (scraped once, wired)."""

    exporter: Exporter
    prometheus: Daemon
    alertmanager: Daemon
    ports: dict[str, int] = field(default_factory=dict)

    def wait_ready(self, intervals: Intervals) -> None:
        prom, am = self.ports[PROMETHEUS], self.ports[ALERTMANAGER]
        self.until("Alertmanager ready", lambda: _get(am, "/-/ready"), READY_S)
        self.until("Prometheus ready", lambda: _get(prom, "/-/ready"), READY_S)
        scraped = f'up{{job="{JOB}"}} == 1'
        limit = 2 * intervals.scrape_s + READY_S
        self.until("Prometheus' first scrape", lambda: _query(prom, scraped), limit)
        self.until("Prometheus to know Alertmanager", lambda: _alertmanagers(prom), READY_S)

    def until(self, what: str, ready: Callable[[], Any], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for daemon in (self.prometheus, self.alertmanager):
                daemon.check_alive()
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"timed out after {timeout_s:.0f}s waiting for {what}\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {d.name}:\n{d.log_tail()}" for d in self.daemons)

    @property
    def daemons(self) -> tuple[Daemon, Daemon]:
        return self.prometheus, self.alertmanager


@contextmanager
def running(
    run: str, smtp_port: int, intervals: Intervals, budget: float, port_base: int = 0
) -> Iterator[PeerStack]:
    """The peer stack, ready, alerting over `budget`; everything stopped (and its folder
    removed) when the block ends. Ports: Prometheus `port_base`, Alertmanager +1, exporter
    +2; free ports when 0."""
    binaries = require_binaries()
    prom, am, exp = range(port_base, port_base + 3) if port_base else free_ports(3)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"bench-peer-{run}-")))
        exporter = Exporter(exp)
        stack.callback(exporter.close)
        ports = {"exporter": exporter.port, "am": am}
        _write(folder, intervals, run, smtp_port, ports, budget)
        daemons = _daemons(folder, binaries, prom, am)
        for daemon in daemons:
            stack.callback(daemon.stop)
            daemon.start()
        peer = PeerStack(exporter, *daemons, ports={PROMETHEUS: prom, ALERTMANAGER: am})
        peer.wait_ready(intervals)
        yield peer


def _write(
    folder: Path, intervals: Intervals, run: str, smtp: int, ports: dict[str, int], budget: float
) -> None:
    configs = {
        "prometheus.yml": prometheus_config(intervals, ports["exporter"], ports["am"]),
        "rules.yml": alert_rules(budget),
        "alertmanager.yml": alertmanager_config(intervals, smtp, run),
    }
    for name, config in configs.items():
        (folder / name).write_text(yaml.safe_dump(config, sort_keys=False))


def _daemons(folder: Path, binaries: dict[str, str], prom: int, am: int) -> tuple[Daemon, Daemon]:
    prometheus = [
        binaries[PROMETHEUS],
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'prometheus-data'}",
        f"--web.listen-address={_at(prom)}",
    ]
    alertmanager = [
        binaries[ALERTMANAGER],
        f"--config.file={folder / 'alertmanager.yml'}",
        f"--storage.path={folder / 'alertmanager-data'}",
        f"--web.listen-address={_at(am)}",
        "--cluster.listen-address=",  # no HA gossip port (it would take 9094)
    ]
    return Daemon("prometheus", prometheus, folder), Daemon("alertmanager", alertmanager, folder)


def _get(port: int, path: str, **params: str) -> Any:
    """The JSON (or True for a bare 200) of a GET, None while the server cannot answer."""
    try:
        r = httpx.get(f"http://{_at(port)}{path}", params=params, timeout=5)
    except httpx.HTTPError:
        return None
    if r.status_code != 200:
        return None
    return r.json() if r.headers.get("content-type", "").startswith("application/json") else True


def _query(port: int, expr: str) -> bool:
    answer = _get(port, "/api/v1/query", query=expr)
    return bool(answer and answer["data"]["result"])


def _alertmanagers(port: int) -> bool:
    answer = _get(port, "/api/v1/alertmanagers")
    return bool(answer and answer["data"]["activeAlertmanagers"])
