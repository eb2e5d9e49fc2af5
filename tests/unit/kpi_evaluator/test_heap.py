"""kpi_evaluator.heap: each scenario (heap_scenarios.py) runs in a fresh interpreter, since
a freeze of the garbage collector is process-wide."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


@pytest.mark.parametrize(
    "scenario",
    [
        "the_youngest_generation_waits_longer",
        "freezes_once_per_strategy_version",
        "cyclic_garbage_frozen_with_the_heap_is_freed_at_the_next_settle",
    ],
)
def test_heap(scenario: str) -> None:
    code = f"from tests.unit.kpi_evaluator import heap_scenarios as s; s.{scenario}()"
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_a_failing_scenario_fails_the_test() -> None:
    """The runner above would pass whatever happened if a failed assert did not show."""
    code = "from tests.unit.kpi_evaluator import heap_scenarios as s; assert s.YOUNG == 700"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True)
    assert done.returncode != 0
