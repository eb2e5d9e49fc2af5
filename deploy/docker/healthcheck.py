"""Container HEALTHCHECK: exit 0 when the service answers GET /healthz with 200.

Standard library only (the slim image has no curl). The port is the service's own
KPI_<NAME>_PORT when set, else the port the image was built for (KPI_HEALTH_PORT).
"""

import os
import sys
import urllib.request

PORT_VARIABLES = {
    "goals": "KPI_GOALS_PORT",
    "metrics-ingest": "KPI_INGEST_PORT",
    "evaluator": "KPI_EVALUATOR_PORT",
    "notifier": "KPI_NOTIFIER_PORT",
    "web": "KPI_WEB_PORT",
}


def main() -> int:
    service = os.environ.get("KPI_SERVICE", "")
    port = os.environ.get(PORT_VARIABLES.get(service, ""), "") or os.environ["KPI_HEALTH_PORT"]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthz failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
