"""Formula KPIs, evaluated safely (a small recursive-descent parser, never eval()).

Grammar: numbers, KPI ids, `+ - * /`, unary minus and parentheses. KPI ids may contain
`-`, so the minus operator stands between spaces (`a - b`); `a-b` is the id `a-b`.
A formula has no value when an input has none or it divides by zero.
"""

import re
from collections.abc import Mapping

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<id>[a-z][a-z0-9_.-]*)|(?P<op>[-+*/])|(?P<par>[()]))"
)


class FormulaError(ValueError):
    pass


def tokens(formula: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos, text = 0, formula.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise FormulaError(f"unexpected character at position {pos + 1}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def references(formula: str) -> list[str]:
    return list(dict.fromkeys(v for k, v in tokens(formula) if k == "id"))


class _Parser:
    def __init__(self, toks: list[tuple[str, str]], values: Mapping[str, float | None]) -> None:
        self.toks = toks
        self.i = 0
        self.values = values

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise FormulaError("unexpected end of formula")
        self.i += 1
        return self.toks[self.i - 1]

    def expr(self) -> float | None:
        left = self.term()
        while self.peek() in ("+", "-"):
            op, right = self.take()[1], self.term()
            left = (
                None
                if left is None or right is None
                else (left + right if op == "+" else left - right)
            )
        return left

    def term(self) -> float | None:
        left = self.factor()
        while self.peek() in ("*", "/"):
            op, right = self.take()[1], self.factor()
            if left is None or right is None or (op == "/" and right == 0):
                left = None
            else:
                left = left * right if op == "*" else left / right
        return left

    def factor(self) -> float | None:
        kind, value = self.take()
        if value == "-":
            inner = self.factor()
            return None if inner is None else -inner
        if value == "(":
            inner = self.expr()
            if self.take()[1] != ")":
                raise FormulaError("expected ')'")
            return inner
        if kind == "num":
            return float(value)
        if kind == "id":
            return self.values.get(value)
        raise FormulaError(f"unexpected {value!r}")


def evaluate(formula: str, values: Mapping[str, float | None]) -> float | None:
    """The formula's value given its inputs' actuals; None when it has none."""
    parser = _Parser(tokens(formula), values)
    result = parser.expr()
    if parser.i != len(parser.toks):
        raise FormulaError("unexpected text after the formula")
    return result
