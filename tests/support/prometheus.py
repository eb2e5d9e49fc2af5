"""A real Prometheus (the Debian package's binary) for tests: deploy/prometheus/prometheus.yml
with its scrape jobs pointed at services on this machine, the project's alert rules, a short
scrape interval, its data in a temporary folder."""

import math
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.procs import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
RULES = ROOT / "deploy" / "prometheus" / "rules"


def local_config(targets: Mapping[str, str], port: int, scrape_s: int) -> dict[str, Any]:
    """The deployed configuration with each job's targets replaced by `targets[job]`."""
    config: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
    config["global"].update(scrape_interval=f"{scrape_s}s", evaluation_interval=f"{scrape_s}s")
    config["global"]["scrape_timeout"] = f"{scrape_s}s"
    config["rule_files"] = [str(RULES / "*.yml")]
    own = {**targets, "prometheus": f"127.0.0.1:{port}"}
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            static["targets"] = [own[job["job_name"]]]
    return config


@dataclass
class PrometheusServer:
    workdir: Path
    targets: Mapping[str, str]  # job -> host:port
    scrape_s: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("prometheus")
        assert binary, "prometheus is not installed (scripts/bootstrap.sh installs it)"
        config = self.workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(local_config(self.targets, self.port, self.scrape_s)))
        args = [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        with (self.workdir / "prometheus.log").open("ab") as log:
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            assert self.proc.poll() is None, self.log_tail()
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"prometheus never ready\n{self.log_tail()}")

    def wait_scraped(self, timeout_s: float = 60) -> None:
        """Until every target has been scraped successfully once: a counter or histogram only
        shows a rate when a sample before the traffic exists to compare with."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            up = self.api("query", query="up == 1")["result"]
            if len(up) >= len(self.targets):
                return
            time.sleep(0.2)
        raise TimeoutError(f"not every target was scraped\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)

    def log_tail(self) -> str:
        path = self.workdir / "prometheus.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def api(self, path: str, **params: Any) -> Any:
        r = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=20)
        body = r.json()
        assert body.get("status") == "success", f"{path} {params}: {body}"
        return body["data"]

    def has_data(self, expr: str, *, start: float, end: float, instant: bool) -> bool:
        """Whether the query gives at least one series with a finite value."""
        if instant:
            data = self.api("query", query=expr, time=end)
            values = [s["value"] for s in data["result"]]
        else:
            data = self.api("query_range", query=expr, start=start, end=end, step=1)
            values = [v for s in data["result"] for v in s["values"]]
        return any(math.isfinite(float(v[1])) for v in values)


@contextmanager
def running_prometheus(workdir: Path, targets: Mapping[str, str]) -> Iterator[PrometheusServer]:
    prom = PrometheusServer(workdir, targets)
    prom.start()
    try:
        prom.wait_ready()
        yield prom
    finally:
        prom.stop()
