"""The Prometheus series names the four services export, read from their collectors, and the
names a PromQL expression uses."""

import importlib
import re
from functools import cache

from prometheus_client import REGISTRY

MODULES = (
    "kpi_goals.metrics",
    "kpi_ingest.metrics",
    "kpi_evaluator.metrics",
    "kpi_notifier.metrics",
    "kpi_common.outbox",
    "kpi_common.kafka",
)
PREFIXES = ("goals_", "metrics_ingest_", "evaluator_", "notifier_", "kpi_")
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}


@cache
def exported() -> frozenset[str]:
    for module in MODULES:
        importlib.import_module(module)
    names = set()
    for family in REGISTRY.collect():
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ())}
    return frozenset(names)


def used(expr: str) -> set[str]:
    """The project's metric names in an expression (the http families are named by regex)."""
    return {t for t in re.findall(r"[a-z_][a-z0-9_]*", expr) if t.startswith(PREFIXES)}
