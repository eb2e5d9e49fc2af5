"""Issue 14, point 8: docs/getting-started.md created an editor key for unit `sales` a
section before the strategy that creates the unit (goals answers 422 "unknown unit")."""

import re
from pathlib import Path

GUIDE = (Path(__file__).parents[3] / "docs" / "getting-started.md").read_text(encoding="utf-8")


def first_line(pattern: str) -> int:
    lines = GUIDE.splitlines()
    return next(n for n, line in enumerate(lines) if re.search(pattern, line))


def test_a_unit_scoped_key_is_created_after_the_strategy_that_creates_the_unit() -> None:
    applied = first_line(r"^uv run kpi apply -f strategy\.yaml(?! --dry-run)")
    scoped = first_line(r"^uv run kpi keys create .*--unit ")
    assert applied < scoped
