"""Prometheus metrics of the goals service (bounded labels only)."""

from prometheus_client import Counter

STRATEGY_APPLIES = Counter(
    "goals_strategy_applies_total",
    "PUT /v1/strategy calls by outcome",
    ["outcome"],  # applied, unchanged, dry_run, invalid
)
NODE_CHANGES = Counter("goals_node_changes_total", "Strategy nodes changed by applies", ["action"])
