"""Formula KPIs: `(revenue - operating-costs) / revenue`.

Grammar: numbers, KPI ids, `+ - * /` and parentheses. KPI ids may contain `-`, so the minus
operator must stand between spaces (`a - b`); `a-b` is the id `a-b`.
"""

import re

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<id>[a-z][a-z0-9_.-]*)|(?P<op>[-+*/])|(?P<par>[()]))"
)


class FormulaError(ValueError):
    pass


def _tokens(formula: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = formula.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise FormulaError(f"unexpected character at position {pos + 1}: {text[pos:]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def references(formula: str) -> list[str]:
    """The KPI ids a formula uses, in order of first use. Raises FormulaError if malformed."""
    tokens = _tokens(formula)
    _check_grammar(tokens)
    seen: list[str] = []
    for kind, value in tokens:
        if kind == "id" and value not in seen:
            seen.append(value)
    return seen


def _check_grammar(tokens: list[tuple[str, str]]) -> None:
    """Operands and operators alternate; parentheses balance; unary minus allowed."""
    depth = 0
    expect_operand = True
    for kind, value in tokens:
        if expect_operand:
            if kind in ("num", "id"):
                expect_operand = False
            elif value == "(":
                depth += 1
            elif value != "-":
                raise FormulaError(f"expected a number or KPI id, found {value!r}")
        elif kind == "op":
            expect_operand = True
        elif value == ")":
            depth -= 1
            if depth < 0:
                raise FormulaError("unbalanced ')'")
        else:
            raise FormulaError(f"expected an operator, found {value!r}")
    if expect_operand:
        raise FormulaError("the formula ends where a number or KPI id is expected")
    if depth:
        raise FormulaError("unbalanced '('")
