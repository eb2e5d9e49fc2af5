"""`kpi` commands for the ingest service."""

from kpi_cli.app import app  # noqa: F401

