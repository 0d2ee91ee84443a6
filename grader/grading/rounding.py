"""What a written number stands for, and when a number is a slip rather than rounding (SPEC 6.1.1, 6.1.2).

- A number written with digits stands for the interval its last digit covers: ``0.8337`` for
  [0.83365, 0.83375]. Under the default tolerance a value that is the reference rounded to 4 or more
  decimals, or to 3 or more significant figures, is right (``allowance``), however small the value.
- A student's unwritten working may have been rounded the way their written answers are (``Habit``),
  never more coarsely than the precision the default protects.
- A slip is never right (``is_slip``): the wrong sign, a factor of 2 or more, or zero, once the
  answer differs from the reference by more than one unit in the last digit written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from grader.grading.steps import ROUNDING_SLACK, last_digit_unit
from grader.problemset.model import RTOL_DEFAULT, Tolerance, ToleranceMode

#: the coarsest rounding the default tolerance always accepts: 4 decimals, or 3 significant figures
PROTECTED_DECIMALS = 4
PROTECTED_SIGFIGS = 3
#: a written number's mantissa digits (to count significant figures)
_DIGITS = re.compile(r"^\s*[+-]?(\d*)(?:\.(\d*))?(?:[eE][+-]?\d+)?\s*$")


def magnitude(x: float) -> int:
    """The power of ten of ``x``'s leading digit (0.0834 -> -2); 0 for 0."""
    if x == 0 or not math.isfinite(x):
        return 0
    return math.floor(math.log10(abs(x)))


def protected_unit(reference: float) -> float:
    """The unit of the last digit of ``reference`` rounded to 4 decimals or 3 significant figures, the coarser."""
    return max(10.0**-PROTECTED_DECIMALS, 10.0 ** (magnitude(reference) - PROTECTED_SIGFIGS + 1))


@dataclass(frozen=True, slots=True)
class Digits:
    """What a written answer's digits say: the unit of its last digit and the interval they stand for."""

    unit: float | None  # one unit in the last digit written; None for a formula such as 1/3
    radius: float  # half a unit: how far the unrounded value may lie (0: exact as written)
    decimals: int | None = None  # decimal places shown, for a number written with a point or exponent
    sigfigs: int | None = None  # significant figures shown, likewise


def read_digits(raw: Any) -> Digits:
    """The digits of an answer as written. An integer (``0``, ``-1``) and a formula are taken as exact."""
    if type(raw) is float and raw != 0 and math.isfinite(raw):  # the common case, without the general parse
        mantissa, _, exponent = repr(raw).partition("e")
        whole, _, fraction = mantissa.lstrip("-").partition(".")
        last = 10.0 ** ((int(exponent) if exponent else 0) - len(fraction))
        digits = (whole + fraction).lstrip("0")
        return Digits(last, 0.5 * last * ROUNDING_SLACK, max(0, len(fraction) - (int(exponent) if exponent else 0)),
                      len(digits) or None)
    unit = last_digit_unit(raw)
    if unit is None or isinstance(raw, bool | int):
        return Digits(unit, 0.0)
    if isinstance(raw, float):
        if not math.isfinite(raw) or raw == 0:
            return Digits(unit, 0.0)  # 0 (read as 0.0): exact
        text = repr(raw)
    else:
        text = str(raw)
    found = _DIGITS.match(text)
    if found is None or (found.group(2) is None and "e" not in text.lower()):
        return Digits(unit, 0.0)  # digits without a point: an integer, exact
    digits = ((found.group(1) or "") + (found.group(2) or "")).lstrip("0")
    radius = 0.5 * unit * ROUNDING_SLACK
    if not digits:
        return Digits(unit, radius)
    return Digits(unit, radius, max(0, -round(math.log10(unit))), len(digits))


def allowance(tol: Tolerance, unit: float | None, reference: float) -> float:
    """Extra width for the written digits: correct rounding at the protected precision or finer.

    Applies in the relative mode unless the instructor made it stricter than the default (rtol under
    1 %): decimal and significant-figure modes already say how to round.
    """
    if unit is None or tol.mode is not ToleranceMode.RELABS or tol.rtol < RTOL_DEFAULT:
        return 0.0
    if unit > protected_unit(reference) * (1 + 1e-9):
        return 0.0
    return 0.5 * unit * ROUNDING_SLACK


def width(tol: Tolerance, expected: float) -> float:
    """How far from ``expected`` the tolerance alone accepts (the one rule of ``numeric.tolerance_width``)."""
    from grader.grading.numeric import tolerance_width

    return tolerance_width(tol, expected)


def is_slip(value: float, reference: float, unit: float | None, bound: float = 0.0) -> bool:
    """The wrong sign, zero, or a factor of 2 or more off ``reference``, by more than the last digit written.

    ``bound`` is how far the student's own carried rounding may move the reference; within it
    (and within one unit of the last digit written) no verdict is a slip.
    """
    if reference == 0 or not math.isfinite(reference):
        return False
    if abs(value - reference) <= (unit or 0.0) * ROUNDING_SLACK + bound:
        return False
    if value == 0 or (value > 0) != (reference > 0):
        return True
    ratio = value / reference
    return ratio >= 2 or ratio <= 0.5


@dataclass(frozen=True)
class Habit:
    """How a student rounds, read from their written answers: the most decimals and significant figures shown."""

    decimals: int | None = None
    sigfigs: int | None = None

    @classmethod
    def of(cls, written: Iterable[Digits]) -> Habit:
        decimals: int | None = None
        sigfigs: int | None = None
        for d in written:
            if d.decimals is None or d.sigfigs is None:
                continue
            decimals = d.decimals if decimals is None else max(decimals, d.decimals)
            sigfigs = d.sigfigs if sigfigs is None else max(sigfigs, d.sigfigs)
        return cls(decimals, sigfigs)

    def radius(self, x: float) -> float:
        """How far rounding an unwritten ``x`` the student's way moves it, never coarser than the protected way.

        The student may round to their decimals or to their significant figures: the larger of the two
        moves (0 for a value those digits hold exactly, such as 1.2).
        """
        if self.decimals is None or self.sigfigs is None or not math.isfinite(x) or x == 0:
            return 0.0
        coarsest = protected_unit(x)
        out = 0.0
        for unit in (10.0**-self.decimals, 10.0 ** (magnitude(x) - max(self.sigfigs, 1) + 1)):
            unit = min(unit, coarsest)
            if not unit > 0:
                continue  # beyond what a float's digits hold
            ratio = x / unit
            if not math.isfinite(ratio):
                continue
            moved = abs(x - round(ratio) * unit)
            out = max(out, moved * ROUNDING_SLACK)
        return out
