"""Issue 14, point 7: the demo's "open" URLs named ports 8001-8004 whatever ports the stack
was configured with (KPI_*_PORT)."""

import io

import pytest
from rich.console import Console

from demo import report


def test_the_urls_to_open_follow_the_configured_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPI_GOALS_PORT", "9101")
    monkeypatch.setenv("KPI_EVALUATOR_PORT", "9103")
    monkeypatch.delenv("KPI_INGEST_PORT", raising=False)
    monkeypatch.delenv("KPI_NOTIFIER_PORT", raising=False)
    monkeypatch.setenv("KPI_WEB_PORT", "9105")
    console = Console(file=io.StringIO(), width=200, record=True)
    report.urls(console)
    lines = [line.split() for line in console.export_text().splitlines()]
    assert ["goals", "http://127.0.0.1:9101/docs"] in lines
    assert ["metrics-ingest", "http://127.0.0.1:8002/docs"] in lines
    assert ["evaluator", "http://127.0.0.1:9103/docs"] in lines
    assert ["notifier", "http://127.0.0.1:8004/docs"] in lines
    assert ["web", "view", "http://127.0.0.1:9105/", "(viewer", "key:", "see", "above)"] in lines
