"""How the parsers build trees: chains of operators kept shallow, checked powers, and the depth bound.

Every tree a parser returns is at most ``MAX_TREE_DEPTH`` levels deep, so the recursive walks that
consume trees (the solver's compiler, the symbolic checker, the renderers) stay far from Python's
recursion limit. A long chain of one kind of operator (``x1 + x2 - ... + x5000``, ``a*b/c*...``)
would be as deep as it is long if built left to right; past ``BALANCE_AFTER`` operators it is built
as a balanced tree of the same value (``(a - b) - (c + d)`` for ``a - b - c - d``), about
log2(n) levels deep. Nothing here recurses deeper than that.
"""

from __future__ import annotations

import math
from fractions import Fraction

from grader.expr.errors import LimitError
from grader.expr.nodes import BinOp, Expr, Neg, Num, depth

#: deepest tree a parser returns (brackets, functions, powers and operators inside each other)
MAX_TREE_DEPTH = 200
#: a chain with more operators than this is built balanced; shorter ones left to right, as written
BALANCE_AFTER = 16
MAX_LITERAL_EXPONENT = 1000

_INVERSE = {"+": "-", "-": "+", "*": "/", "/": "*"}
Link = tuple[str, int, Expr]  # operator, its offset, the operand after it


def chain(first: Expr, rest: list[Link]) -> Expr:
    """``first op1 e1 op2 e2 ...`` for operators of one precedence (``+ -`` or ``* /``), left-associative."""
    if len(rest) <= BALANCE_AFTER:
        out = first
        for op, pos, operand in rest:
            out = BinOp(op, out, operand, pos)
        return out
    return _balanced([("", first.pos, first), *rest])


def _balanced(items: list[Link]) -> Expr:
    """The value of ``items[0] op1 items[1] ...`` (the first item's operator ignored), log2(n) levels deep.

    ``a op b op' c ...`` split at an operator ``op``: the left part, then ``op`` applied to the right
    part read with every operator inverted if ``op`` is ``-`` or ``/`` (``a - (b - c)`` is ``a - b + c``).
    """
    if len(items) == 1:
        return items[0][2]
    mid = len(items) // 2
    op, pos, operand = items[mid]
    right = items[mid:]
    if op in ("-", "/"):
        right = [(_INVERSE[o], p, e) for o, p, e in right]
    return BinOp(op, _balanced(items[:mid]), _balanced([("", pos, operand), *right[1:]]), pos)


def check_depth(tree: Expr) -> Expr:
    """``tree`` if it is at most ``MAX_TREE_DEPTH`` levels deep, else ``LimitError``."""
    if depth(tree) > MAX_TREE_DEPTH:
        raise LimitError(f"the formula is nested too deeply (more than {MAX_TREE_DEPTH} levels)")
    return tree


def checked_power(base: Expr, exponent: Expr, pos: int) -> Expr:
    """``base ^ exponent``, refused when its numbers make it too large to hold."""
    b, e = constant_value(base), constant_value(exponent)
    if e is not None and not abs(e) <= MAX_LITERAL_EXPONENT:
        raise LimitError(f"the exponent is too large (at most {MAX_LITERAL_EXPONENT})", pos)
    if b is not None and e is not None:
        try:
            magnitude = abs(b) ** e if b != 0 or e >= 0 else math.inf
        except (OverflowError, ZeroDivisionError):
            magnitude = math.inf
        if isinstance(magnitude, complex) or not math.isfinite(magnitude) or magnitude > 1e300:
            raise LimitError("the number is too large", pos)
    return BinOp("^", base, exponent, pos)


def constant_value(node: Expr) -> float | None:
    """The float value of a tree of numbers and operators, or None if it has names or calls.

    Powers are taken in absolute value: only the magnitude matters for the size limits. Evaluated
    with a stack of its own, so a deep tree is no deeper in Python.
    """
    values: list[float | None] = []
    todo: list[tuple[Expr, bool]] = [(node, False)]
    while todo:
        current, ready = todo.pop()
        if isinstance(current, Num):
            values.append(_as_float(current.value))
        elif isinstance(current, Neg):
            if ready:
                x = values.pop()
                values.append(None if x is None else -x)
            else:
                todo += [(current, True), (current.arg, False)]
        elif isinstance(current, BinOp):
            if ready:
                y, x = values.pop(), values.pop()
                values.append(None if x is None or y is None else _combine(current.op, x, y))
            else:
                todo += [(current, True), (current.right, False), (current.left, False)]
        else:
            values.append(None)
    return values[0]


def _as_float(value: Fraction) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _combine(op: str, x: float, y: float) -> float | None:
    try:
        if op == "^":
            value = abs(x) ** y
            return value if isinstance(value, float) else math.inf
        if op == "/":
            return x / y if y != 0 else None
        return x + y if op == "+" else x - y if op == "-" else x * y
    except (OverflowError, ZeroDivisionError):
        return math.inf
