"""The demo's clock: one file that every demo process reads, so the whole stack agrees on
"now" and the demo's output does not depend on the day it runs (docs/demo.md).

The file holds a demo time and the real time at which it was set; the clock reads that demo
time plus the real seconds since, so time moves at its normal speed from wherever the demo
put it. During the replay the demo moves it forward day by day, so ingest stamps each day's
events as received on that day; afterwards it rests at `DEMO_NOW`.
"""

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Friday of the 13th week of fiscal 2026: Q1 95% gone, March 85%, the year 23%.
DEMO_NOW = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
QUARTER_START = datetime(2026, 1, 1, tzinfo=UTC)


def set_clock(path: Path, at: datetime) -> None:
    """Move the demo clock to `at` (atomically: readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"at": at.isoformat(), "real": time.time()}))
    os.replace(tmp, path)


class FileClock:
    """A `() -> datetime` for the services' `create_app(clock=...)`. It reads the file on
    every call (a few microseconds): a cached reading could lag behind a move the demo just
    made, and ingest would then refuse that day's events as "in the future"."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self) -> datetime:
        state = json.loads(self.path.read_bytes())
        at = datetime.fromisoformat(state["at"])
        return at + timedelta(seconds=time.time() - float(state["real"]))
