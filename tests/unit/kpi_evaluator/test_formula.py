import pytest
from kpi_common.formula import parse
from kpi_evaluator.formula import evaluate

MARGIN = parse("(revenue - operating-costs) / revenue")


def test_profit_margin_of_the_acme_example() -> None:
    values = {"revenue": 12_000_000.0, "operating-costs": 9_000_000.0}
    assert evaluate(MARGIN, values) == pytest.approx(0.25)


def test_precedence_unary_minus_and_missing_inputs() -> None:
    assert evaluate(parse("2 + 3 * 4 - -1"), {}) == 15
    assert evaluate(parse("10 - 4 - 3"), {}) == 3
    assert evaluate(parse("12 / 2 / 3"), {}) == 2
    assert evaluate(parse("-(2 - 5) * 2"), {}) == 6
    assert evaluate(parse("a / b"), {"a": 1.0, "b": 0.0}) is None
    assert evaluate(MARGIN, {"revenue": 1.0}) is None


def test_a_long_formula_evaluates_without_recursion() -> None:
    terms = " + ".join(["a"] * 5000)
    assert evaluate(parse(terms), {"a": 1.0}) == 5000
