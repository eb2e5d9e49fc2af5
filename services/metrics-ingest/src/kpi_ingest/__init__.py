"""kpi-cascade metrics-ingest service."""
