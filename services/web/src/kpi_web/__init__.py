"""kpi-cascade web view (docs/web.md)."""
