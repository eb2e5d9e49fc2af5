"""The grammar of formula KPIs (`(revenue - operating-costs) / revenue`), part of the
strategy document: goals checks a formula with it, the evaluator computes one parsed by it.

Grammar: numbers, KPI ids, `+ - * /`, unary minus and parentheses. KPI ids may contain
`-`, so the minus operator must stand between spaces (`a - b`); `a-b` is the id `a-b`.
`*` and `/` bind tighter than `+` and `-`, unary minus tighter than both; operators of one
level apply left to right.

A parsed formula is a program in postfix order (`a b -` for `a - b`), so that neither
parsing nor evaluating recurses, however long or deeply nested the formula.
"""

import re
from dataclasses import dataclass
from typing import Literal

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<id>[a-z][a-z0-9_.-]*)|(?P<op>[-+*/])|(?P<par>[()]))"
)

Symbol = Literal["+", "-", "*", "/", "neg"]


class FormulaError(ValueError):
    pass


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Input:
    """The actual of another KPI."""

    kpi_id: str


@dataclass(frozen=True)
class Operator:
    """Takes its operands from the results before it: two, or one for `neg`."""

    symbol: Symbol


Step = Number | Input | Operator

_OPERATORS: dict[str, Operator] = {
    "+": Operator("+"),
    "-": Operator("-"),
    "*": Operator("*"),
    "/": Operator("/"),
    "neg": Operator("neg"),
}
_PRECEDENCE: dict[str, int] = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3}


@dataclass(frozen=True)
class Formula:
    source: str
    program: tuple[Step, ...]
    references: tuple[str, ...]
    """The KPI ids the formula uses, in order of first use."""


def parse(formula: str) -> Formula:
    """The formula as a postfix program. Raises FormulaError naming what is wrong."""
    tokens = _tokens(formula)
    _check_grammar(tokens)
    program = _postfix(tokens)
    ids = (s.kpi_id for s in program if isinstance(s, Input))
    return Formula(formula, program, tuple(dict.fromkeys(ids)))


def references(formula: str) -> list[str]:
    """The KPI ids a formula uses, in order of first use. Raises FormulaError if malformed."""
    return list(parse(formula).references)


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


def _postfix(tokens: list[tuple[str, str]]) -> tuple[Step, ...]:
    """Shunting-yard over tokens that passed `_check_grammar`."""
    out: list[Step] = []
    pending: list[str] = []  # operators and "(" not yet placed
    expect_operand = True
    for kind, value in tokens:
        if kind in ("num", "id"):
            out.append(Number(float(value)) if kind == "num" else Input(value))
            expect_operand = False
        elif value == "(" or (expect_operand and value == "-"):
            pending.append("(" if value == "(" else "neg")
        elif value == ")":
            while (top := pending.pop()) != "(":
                out.append(_OPERATORS[top])
        else:
            while pending and pending[-1] != "(" and _binds(pending[-1], value):
                out.append(_OPERATORS[pending.pop()])
            pending.append(value)
            expect_operand = True
    out += [_OPERATORS[op] for op in reversed(pending)]
    return tuple(out)


def _binds(earlier: str, later: str) -> bool:
    return _PRECEDENCE[earlier] >= _PRECEDENCE[later]
