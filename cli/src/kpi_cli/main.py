"""Entry point of `kpi`. Each service's commands live in a module of their own; failures are
explained in one place, `kpi_cli.app.ExplainedGroup`."""

from kpi_cli import (  # noqa: F401  (each registers its commands)
    evaluator,
    goals,
    health,
    inbox,
    incidents,
    ingest,
    notifier,
    simulate,
    web,
)
from kpi_cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
