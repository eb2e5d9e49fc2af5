"""The value of a formula KPI, computed over the program `kpi_common.formula` parsed (never
eval()). A formula has no value when an input has none or it divides by zero."""

from collections.abc import Mapping

from kpi_common.formula import Formula, Input, Number, Operator


def evaluate(formula: Formula, values: Mapping[str, float | None]) -> float | None:
    """The formula's value given its inputs' actuals; None when it has none."""
    stack: list[float | None] = []
    for step in formula.program:
        if isinstance(step, Number):
            stack.append(step.value)
        elif isinstance(step, Input):
            stack.append(values.get(step.kpi_id))
        elif step.symbol == "neg":
            operand = stack.pop()
            stack.append(None if operand is None else -operand)
        else:
            right, left = stack.pop(), stack.pop()
            stack.append(_apply(step, left, right))
    return stack.pop()


def _apply(op: Operator, left: float | None, right: float | None) -> float | None:
    if left is None or right is None or (op.symbol == "/" and right == 0):
        return None
    if op.symbol == "+":
        return left + right
    if op.symbol == "-":
        return left - right
    return left * right if op.symbol == "*" else left / right
