import pytest
from kpi_goals.contract import single_target

BASE = {"id": "k", "title": "K"}


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({"target": 50}, 50.0),
        ({"baseline": 10_000_000, "target": {"increase_by": "20%"}}, 12_000_000.0),
        ({"baseline": 0.05, "target": {"decrease_by": "10%"}}, 0.045),
        ({"baseline": 45, "target": {"decrease_by": 15}}, 30.0),
        ({"target": {"increase_by": "20%"}}, None),
        ({"target": {"min": 1, "max": 2}, "direction": "range"}, None),
        ({"targets": [{"period": "2026-Q1", "value": 1}]}, None),
    ],
)
def test_single_target(definition: dict[str, object], expected: float | None) -> None:
    got = single_target({**BASE, **definition})
    assert got == pytest.approx(expected) if expected is not None else got is None
