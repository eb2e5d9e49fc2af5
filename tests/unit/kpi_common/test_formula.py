"""The formula grammar of the strategy document: what parses, into what, and what is refused."""

import pytest
from kpi_common.formula import FormulaError, Input, Number, Operator, parse, references


def test_ids_with_hyphens_and_spaced_minus() -> None:
    assert references("(revenue - operating-costs) / revenue") == ["revenue", "operating-costs"]
    assert references("-a * 2.5 + (b)") == ["a", "b"]


def test_the_program_is_postfix_with_precedence_and_unary_minus() -> None:
    got = parse("2 + 3 * -a - (b - 1)").program
    plus, minus, times, neg = Operator("+"), Operator("-"), Operator("*"), Operator("neg")
    two, three, one = Number(2.0), Number(3.0), Number(1.0)
    assert got == (two, three, Input("a"), neg, times, plus, Input("b"), one, minus, minus)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("a +", "the formula ends where a number or KPI id is expected"),
        ("(a", "unbalanced '('"),
        ("a)", "unbalanced ')'"),
        ("a b", "expected an operator, found 'b'"),
        ("* a", "expected a number or KPI id, found '*'"),
        ("a $ b", "unexpected character at position 2: ' $ b'"),
        ("()", "expected a number or KPI id, found ')'"),
        ("", "the formula ends where a number or KPI id is expected"),
    ],
)
def test_malformed_formulas_are_refused_with_the_reason(bad: str, reason: str) -> None:
    with pytest.raises(FormulaError) as err:
        parse(bad)
    assert str(err.value) == reason


def test_long_and_deeply_nested_formulas_parse_without_recursion() -> None:
    deep = "(" * 5000 + "a" + ")" * 5000 + " + " + "- " * 5000 + "b"
    assert parse(deep).references == ("a", "b")
