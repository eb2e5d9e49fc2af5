"""kpi-cascade notifier service."""
