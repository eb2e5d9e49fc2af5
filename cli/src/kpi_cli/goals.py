"""`kpi` commands for the goals service."""

from kpi_cli.app import app  # noqa: F401

