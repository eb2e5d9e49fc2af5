"""`kpi` commands for the evaluator service."""

from kpi_cli.app import app  # noqa: F401

