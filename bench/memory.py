"""(f) Resident memory of each service process (peak), and CPU time of a service, from /proc."""

import os
from pathlib import Path

from kpi_localinfra.processes import SERVICES

from bench.table import Row

RUN = Path(".local/run")
LIMIT_MIB = 300


def measure() -> list[Row]:
    rows = []
    for spec in SERVICES:
        pid = int((RUN / f"{spec.name}.pid").read_text())
        peak = proc_status_kib(pid, "VmHWM") / 1024
        rows.append(
            Row(f"(f) {spec.name} peak RSS", peak, "MiB", f"< {LIMIT_MIB}", peak < LIMIT_MIB)
        )
    return rows


def cpu_seconds(service: str) -> float:
    """User + system CPU time the service's process has used so far."""
    return pid_cpu_seconds(int((RUN / f"{service}.pid").read_text()))


def pid_cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid: int, field: str) -> float:
    """A field of /proc/<pid>/status in KiB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")
