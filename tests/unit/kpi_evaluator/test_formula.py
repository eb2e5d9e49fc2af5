import pytest
from kpi_evaluator.formula import FormulaError, evaluate, references

MARGIN = "(revenue - operating-costs) / revenue"


def test_profit_margin_of_the_acme_example() -> None:
    values = {"revenue": 12_000_000.0, "operating-costs": 9_000_000.0}
    assert evaluate(MARGIN, values) == pytest.approx(0.25)
    assert references(MARGIN) == ["revenue", "operating-costs"]


def test_precedence_unary_minus_and_missing_inputs() -> None:
    assert evaluate("2 + 3 * 4 - -1", {}) == 15
    assert evaluate("a / b", {"a": 1.0, "b": 0.0}) is None
    assert evaluate(MARGIN, {"revenue": 1.0}) is None


@pytest.mark.parametrize("bad", ["(a", "a +", "a b", "__import__('os')", "a ) b"])
def test_malformed_formulas_are_refused(bad: str) -> None:
    with pytest.raises(FormulaError):
        evaluate(bad, {"a": 1.0, "b": 2.0})
