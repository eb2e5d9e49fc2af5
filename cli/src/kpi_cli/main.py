"""Entry point of `kpi`. Each service's commands live in a module of their own."""

import sys

from rich.console import Console

from kpi_cli import (  # noqa: F401  (each registers its commands)
    evaluator,
    goals,
    health,
    ingest,
    notifier,
    simulate,
)
from kpi_cli.app import app
from kpi_cli.client import CliError

err = Console(stderr=True)


def main() -> None:
    try:
        app()
    except CliError as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
