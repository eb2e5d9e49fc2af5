"""Run one service on the demo clock: `KPI_DEMO_SERVICE=evaluator python -m demo.clocked`.

Each service's composition root takes a clock (`create_app(settings, clock=...)`, the hook
its tests use); this entry point passes the demo's `FileClock` and serves the app exactly
as the service's own `run()` does. Nothing else about the service changes.
"""

import importlib
import os
from pathlib import Path

from kpi_common.runtime import serve

from demo.clock import FileClock

PACKAGES = {
    "goals": "kpi_goals",
    "metrics-ingest": "kpi_ingest",
    "evaluator": "kpi_evaluator",
    "notifier": "kpi_notifier",
    "web": "kpi_web",
}


def main() -> None:
    package = PACKAGES[os.environ["KPI_DEMO_SERVICE"]]
    config = importlib.import_module(f"{package}.config")
    service = importlib.import_module(f"{package}.main")
    settings = config.Settings()
    clock = FileClock(Path(os.environ["KPI_DEMO_CLOCK_FILE"]))
    serve(service.create_app(settings, clock=clock), settings.host, settings.port)


if __name__ == "__main__":
    main()
