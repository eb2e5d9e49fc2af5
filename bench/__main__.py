"""`make bench`: speed and memory figures on this machine, printed as one table and written to
bench-results/latest.md. `make up` ran first: the services are the real ones.

Measured so far: (a) the ceiling, raw aiokafka produce-then-consume on the same broker with
our producer settings; (b) ingest HTTP throughput, single-event requests and 100-event
batches; (f) RSS of each service. The other figures of issue 8 are still to come.
"""

import asyncio
import os
import platform
import sys
from pathlib import Path

from bench import ceiling, ingest, memory
from bench.table import Row, render

RESULTS = Path("bench-results")


async def run() -> list[Row]:
    bootstrap = os.environ.get("KPI_KAFKA_BOOTSTRAP", "127.0.0.1:59092")
    rows: list[Row] = []
    rows += await ceiling.measure(bootstrap)
    rows += await ingest.measure()
    rows += memory.measure()
    return rows


def main() -> int:
    rows = asyncio.run(run())
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    text = render(rows, machine)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(text + "\n")
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
