"""Updated parameters judged on their step (SPEC 6.1.3): ``next.w - w`` against the key's step.

Judged on ``next.w`` itself, a relative tolerance on ``|next.w|`` lets ``next.w = w`` pass whenever the
step is under one per cent of the weight: leaving the weight unchanged, stepping uphill or leaving out
the learning rate would all be "correct". So the step is compared instead:

- a written ``next.w`` within half a unit of its last written digit of the target is right (correct
  rounding is never a slip), and so is one whose step is within the tolerance of the target's step;
- otherwise it is wrong, however close ``next.w`` is to the target in relative terms;
- when the target's step is no larger than one unit in the last digit written, the answer cannot show
  the step at all: it is judged on its value, and the feedback says to write more digits.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from grader.grading.numeric import is_close
from grader.problemset.model import Tolerance

#: a written number's digits: optional sign, mantissa, optional exponent
_NUMBER = re.compile(r"^\s*[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$")
#: rounding slack on half a unit (floating point)
ROUNDING_SLACK = 1.000001


def last_digit_unit(raw: Any) -> float | None:
    """One unit in the last digit the student wrote (``0.5012`` -> 1e-4), or None when it cannot be told."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return 1.0
    if isinstance(raw, float):
        if not math.isfinite(raw):
            return None
        text = repr(raw)  # the shortest text that reads back as this float: what was written, trailing zeros aside
    elif isinstance(raw, str):
        text = raw
    else:
        return None
    found = _NUMBER.match(text)
    if found is None or not (found.group(1) or found.group(2)):
        return None  # a formula such as 1/3 or tanh(1.2): exact, no last digit
    decimals = len(found.group(2) or "")
    exponent = int(found.group(3) or 0)
    try:
        return float(Decimal(1).scaleb(exponent - decimals))
    except (InvalidOperation, OverflowError):
        return None


def step_close(value: float, target: float, start: float, tol: Tolerance, unit: float | None) -> bool:
    """Whether ``value`` (a written ``next.w``) matches ``target`` judged on the step from ``start``."""
    if not math.isfinite(target):
        return False
    if unit is not None and abs(value - target) <= 0.5 * unit * ROUNDING_SLACK:
        return True  # the target, rounded to the digits written
    if too_few_digits(target, start, unit):
        return is_close(value, target, tol)  # the step cannot be shown: judged on the value
    return is_close(value - start, target - start, tol)


def too_few_digits(target: float, start: float, unit: float | None) -> bool:
    """Whether one unit in the last digit written is as large as the target's step (it cannot be shown)."""
    return unit is not None and math.isfinite(target) and abs(target - start) <= unit


TOO_FEW_DIGITS = ("Write more digits: this update's step is no larger than one unit in the last digit you wrote, "
                  "so your answer cannot show it.")
