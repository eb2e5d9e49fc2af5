"""`kpi` commands for the notifier service."""

from kpi_cli.app import app  # noqa: F401

