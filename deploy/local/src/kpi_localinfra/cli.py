"""Command line: up | down | status | env | fetch-kafka.

Works before any virtualenv exists:
    python3 deploy/local/src/kpi_localinfra/cli.py up
    PYTHONPATH=deploy/local/src python3 -m kpi_localinfra up
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a file: import the package, not its folder
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from kpi_localinfra._proc import InfraError, progress
from kpi_localinfra.kafka_jars import ensure_kafka_libs, kafka_version
from kpi_localinfra.stack import Stack


def cmd_up(stack: Stack) -> int:
    """Start the local pieces (idempotent); print the `export` lines on stdout."""
    stack.up()
    for status in stack.status():
        progress(status.line())
    print("\n".join(stack.env_lines()))
    return 0


def cmd_down(stack: Stack) -> int:
    stopped = stack.down()
    progress(f"stopped: {', '.join(stopped)}" if stopped else "nothing local to stop")
    return 0


def cmd_status(stack: Stack) -> int:
    """One line per piece; exit status 3 when something is not running."""
    statuses = stack.status()
    for status in statuses:
        print(status.line())
    return 0 if all(status.running for status in statuses) else 3


def cmd_env(stack: Stack) -> int:
    print("\n".join(stack.env_lines()))
    return 0


def cmd_fetch_kafka(_: Stack) -> int:
    libs = ensure_kafka_libs()
    progress(f"Apache Kafka {kafka_version()} jars in {libs}")
    return 0


COMMANDS: dict[str, tuple[Callable[[Stack], int], str]] = {
    "up": (cmd_up, "start PostgreSQL and Kafka (idempotent) and print export lines"),
    "down": (cmd_down, "stop what `up` started; no process is left behind"),
    "status": (cmd_status, "show each piece (exit 3 if one is not running)"),
    "env": (cmd_env, "print `export KPI_DATABASE_URL=... KPI_KAFKA_BOOTSTRAP=...` for eval"),
    "fetch-kafka": (cmd_fetch_kafka, "only download the Kafka jars into the cache"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kpi_localinfra",
        description="Local PostgreSQL and Apache Kafka for kpi-cascade (no Docker).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler, _ = COMMANDS[args.command]
    try:
        return handler(Stack())
    except InfraError as exc:
        print(f"kpi_localinfra {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
