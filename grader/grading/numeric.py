"""Numeric answers: reading what a student wrote as a number, and the comparison modes.

One rounding rule for every number graded, network quantities and constant keys of expression
problems alike (``is_close``, ``tolerance_width``, ``within``):

- relative-absolute: right when ``|s - e| <= atol + rtol*|e|``;
- ``k`` significant figures: right when ``s`` is within half a unit in the k-th significant place of
  the key, i.e. it is the key rounded to k significant figures (or closer): for 9.85 at 2 s.f. both
  9.8 and 9.9 are right, 10 is not (that is 9.85 to 1 s.f.);
- ``k`` decimals: within half a unit in the k-th decimal place;

each bound with a relative slack of ``BOUNDARY_SLACK`` (of the larger of the bound and the two values),
so that a value exactly on the boundary as written is accepted although its float difference is a few
units of the last binary place over it (``1.05`` is within 5 % of ``1``).
"""

from __future__ import annotations

import math
from typing import Any

from grader.expr import ExpressionError, parse
from grader.expr.library import CONSTANTS, FUNCTIONS
from grader.expr.nodes import BinOp, Call, Expr, Neg, Num, Sym
from grader.problemset.model import Tolerance, ToleranceMode
from grader.problemset.source import kind_of

MAX_NUMERIC_TEXT = 200
#: a value right at k significant figures or decimals is within half a unit of the key's k-th place
HALF_UNIT = 0.5
SIGFIG_SLACK = HALF_UNIT  # the name other modules import it by
#: relative slack on every tolerance boundary: float differences of decimal numbers are off by a few ulps
BOUNDARY_SLACK = 1e-13


class NumberError(ValueError):
    """A submitted value that is not a number."""


#: why a number the grader cannot hold is not graded (floats end near 1.8e308)
TOO_LARGE = "the number is too large to compare (the grader works with finite numbers up to about 1.8e308)"


def read_number(raw: Any) -> float:
    """Read a submitted value: a number, or text such as ``0.83``, ``-1.2e-3``, ``1/3``, ``e^-1``, ``tanh(1.2)``.

    A number beyond what a float holds (``1e309``, a 400-digit integer, ``exp(1000)``) is refused with
    ``TOO_LARGE``: that one answer is invalid, the rest of the submission is graded as usual.
    """
    if isinstance(raw, bool):
        raise NumberError(f"{str(raw).lower()} is not a number")
    if isinstance(raw, int):
        try:
            value = float(raw)
        except OverflowError:
            raise NumberError(TOO_LARGE) from None
    elif isinstance(raw, float):
        value = raw
    elif isinstance(raw, str):
        text = raw.strip()
        if not text:
            raise NumberError("the answer is empty")
        if len(text) > MAX_NUMERIC_TEXT:
            raise NumberError(f"the answer is too long for a number ({len(text)} characters)")
        if "," in text and "(" not in text:
            raise NumberError(f"{text!r} has a comma; write a decimal point (0.5, not 0,5)")
        try:
            value = _constant(parse(text, symbols=set(), max_length=MAX_NUMERIC_TEXT))
        except ExpressionError as exc:
            raise NumberError(f"cannot read {text!r} as a number: {exc.describe()}") from None
    else:
        raise NumberError(f"expected a number, found {kind_of(raw)}")
    if math.isnan(value):
        raise NumberError("the answer is not a finite number (nan)")
    if not math.isfinite(value):
        raise NumberError(TOO_LARGE)
    return value


def as_submitted(raw: Any) -> Any:
    """``raw`` as a result shows it: a number no float holds (a huge integer, inf, nan) as its text.

    Results are JSON, and whatever shows them may format numbers as floats; such a value is kept as typed.
    """
    if isinstance(raw, int) and not isinstance(raw, bool):
        try:
            float(raw)
        except OverflowError:
            return str(raw)
    if isinstance(raw, float) and not math.isfinite(raw):
        return repr(raw)
    return raw


def _constant(node: Expr) -> float:
    """Evaluate a tree of numbers, e, pi and library functions (no names: nothing else to look up)."""
    try:
        return _eval(node)
    except OverflowError:
        plain = isinstance(node, Num) or (isinstance(node, Neg) and isinstance(node.arg, Num))
        raise NumberError(TOO_LARGE if plain else f"cannot be evaluated: {TOO_LARGE}") from None
    except (ZeroDivisionError, ValueError) as exc:
        raise ExpressionError(f"cannot be evaluated ({exc})") from None


def _eval(node: Expr) -> float:
    match node:
        case Num(value=v):
            return float(v)
        case Sym(name=name) if name in CONSTANTS:
            return CONSTANTS[name]
        case Neg(arg=a):
            return -_eval(a)
        case BinOp(op=op, left=a, right=b):
            x, y = _eval(a), _eval(b)
            if op == "+":
                return x + y
            if op == "-":
                return x - y
            if op == "*":
                return x * y
            if op == "/":
                return x / y
            result = x**y
            if isinstance(result, complex):
                raise ValueError("a negative number to a fractional power")
            return float(result)
        case Call(func=f, args=args) if FUNCTIONS[f].value is not None:
            fn = FUNCTIONS[f]
            assert fn.value is not None
            values = [_eval(a) for a in args] + list(fn.defaults[len(args) - fn.min_args:])
            return float(fn.value(*values))
    raise ExpressionError("only numbers and functions of numbers are allowed here")


def tolerance_width(tol: Tolerance, expected: float) -> float:
    """How far from ``expected`` the tolerance accepts: ``atol + rtol*|e|``, or half a unit in the last place kept."""
    if tol.mode is ToleranceMode.RELABS:
        return tol.atol + tol.rtol * abs(expected)
    if tol.mode is ToleranceMode.DECIMALS or expected == 0 or not math.isfinite(expected):
        return HALF_UNIT * 10.0 ** -tol.digits
    place = math.floor(math.log10(abs(expected))) - tol.digits + 1
    return HALF_UNIT * 10.0**place


def within(diff: float, width: float, *values: float) -> bool:
    """``diff <= width``, with the boundary's relative slack (of the larger of ``width`` and ``values``)."""
    scale = max([width, *(abs(v) for v in values)])
    return diff <= width + BOUNDARY_SLACK * scale


def is_close(submitted: float, expected: float, tol: Tolerance) -> bool:
    """Whether ``submitted`` matches ``expected`` under ``tol`` (SPEC section 5): the one rounding rule."""
    if not math.isfinite(expected) or not math.isfinite(submitted):
        return False
    return within(abs(submitted - expected), tolerance_width(tol, expected), submitted, expected)


def size_class(value: float) -> tuple[int, int]:
    """``(sign, band)``: the sign of ``value`` and the power-of-two band its size lies in.

    The bands' edges (..., 1/4, 1/2, 1, 2, 4, ...) are the same for every key, so telling a student in
    which direction their answer's band differs from the key's says nothing finer than the key's own
    band, however many answers they try: bisection ends at a band edge, not at the key.
    """
    if value == 0 or not math.isfinite(value):
        return 0, 0
    return (1 if value > 0 else -1), math.frexp(abs(value))[1]


def hidden_comparison(value: float, expected: float) -> str:
    """Feedback on a wrong number that does not pin down ``expected`` (for hidden expected values).

    Only the sign and the power-of-two band of the two are compared: "the sign is wrong", "too large
    in magnitude", "too small in magnitude", or plain "not correct" within the key's own band. Any
    slip by a factor of 2 or more crosses a band, so it is always told its direction.
    """
    (key_sign, key_band), (sign, band) = size_class(expected), size_class(value)
    if key_sign == 0:
        return "Not correct."
    if sign == 0:
        return "Not correct: too small in magnitude." if value == 0 else "Not correct."
    if sign != key_sign:
        return "Not correct: the sign is wrong."
    if band > key_band:
        return "Not correct: too large in magnitude."
    if band < key_band:
        return "Not correct: too small in magnitude."
    return "Not correct."


def relative_error(submitted: float, expected: float) -> float:
    return abs(submitted - expected) / max(abs(expected), 1e-12)


def near_miss(submitted: float, expected: float, tol: Tolerance, factor: float = 5.0) -> bool:
    """Outside the tolerance but within ``factor`` times it: usually rounding too early."""
    widened = Tolerance(tol.mode, tol.rtol * factor, tol.atol * factor, tol.digits)
    if tol.mode is not ToleranceMode.RELABS:
        widened = Tolerance(tol.mode, digits=max(tol.digits - 1, 0))
    return is_close(submitted, expected, widened)
