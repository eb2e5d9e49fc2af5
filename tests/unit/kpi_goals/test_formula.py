import pytest
from kpi_goals.formula import FormulaError, references


def test_ids_with_hyphens_and_spaced_minus() -> None:
    assert references("(revenue - operating-costs) / revenue") == ["revenue", "operating-costs"]
    assert references("-a * 2.5 + (b)") == ["a", "b"]


@pytest.mark.parametrize("bad", ["a +", "(a", "a)", "a b", "* a", "a $ b", "()"])
def test_malformed_formulas_are_refused(bad: str) -> None:
    with pytest.raises(FormulaError):
        references(bad)
