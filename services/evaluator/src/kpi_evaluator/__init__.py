"""kpi-cascade evaluator service."""
