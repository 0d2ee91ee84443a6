"""Randomised values: each student gets a reproducible variant of a problem.

A value may be drawn instead of fixed::

    w1: {uniform: [-1, 1], decimals: 1}          # rounded to 1 decimal place
    w2: {uniform: [-1, 1], decimals: 2, nonzero: true}
    x1: {choice: [0.5, 1, 2]}

The draw for a student depends only on the set id, the problem id, the value's name and the student
id (through SHA-256), so the same student always gets the same numbers, on any machine, whatever
else the set holds, and neighbours get different ones.
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any

from grader.problemset.context import Context
from grader.problemset.model import Draw, Value

REFERENCE_STUDENT = ""  # the variant shown when no student is named


def read_value(raw: Any, ctx: Context, *path: str | int) -> Value:
    """A fixed number or a draw specification."""
    if not isinstance(raw, dict):
        return ctx.number(raw, *path)
    ctx.check_keys(raw, {"uniform", "decimals", "choice", "nonzero"}, "a random value", *path)
    nonzero = raw.get("nonzero", False)
    if not isinstance(nonzero, bool):
        ctx.fail("nonzero must be true or false", *path, "nonzero")
    if "choice" in raw:
        if "uniform" in raw:
            ctx.fail("give either uniform or choice, not both", *path)
        choices = raw["choice"]
        if not isinstance(choices, list) or not choices:
            ctx.fail("choice must be a non-empty list of numbers", *path, "choice")
        values = tuple(ctx.number(c, *path, "choice", i) for i, c in enumerate(choices))
        if nonzero and all(v == 0 for v in values):
            ctx.fail("every choice is 0 but nonzero is set", *path, "choice")
        return Draw(choices=values, nonzero=nonzero)
    if "uniform" not in raw:
        ctx.fail("a random value needs uniform: [low, high] or choice: [...]", *path)
    bounds = raw["uniform"]
    if not isinstance(bounds, list) or len(bounds) != 2:
        ctx.fail("uniform must be [low, high]", *path, "uniform")
    low, high = (ctx.number(b, *path, "uniform", i) for i, b in enumerate(bounds))
    if not low < high:
        ctx.fail(f"uniform needs low < high, found [{low:g}, {high:g}]", *path, "uniform")
    decimals = raw.get("decimals", 2)
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 8:
        ctx.fail("decimals must be a whole number from 0 to 8", *path, "decimals")
    step = 10.0 ** -decimals
    if not math.isfinite((high - low) / step):
        ctx.fail(f"uniform on [{low:g}, {high:g}] is too wide to draw from", *path, "uniform")
    grid = round((high - low) / step) + 1
    if grid < 2 or (nonzero and grid < 3):
        ctx.fail(f"uniform on [{low:g}, {high:g}] with {decimals} decimals leaves too few values", *path)
    return Draw(low=low, high=high, decimals=decimals, nonzero=nonzero)


def draw(value: Value, name: str, rng_seed: str) -> float:
    """The value of ``name`` for the variant seeded by ``rng_seed`` (fixed values pass through)."""
    if not isinstance(value, Draw):
        return value
    digest = hashlib.sha256(f"{rng_seed}\x00{name}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:16], "big"))
    for _ in range(1000):
        if value.choices:
            x = rng.choice(value.choices)
        else:
            x = round(rng.uniform(value.low, value.high), value.decimals)
            x = min(max(x, value.low), value.high)
        if not (value.nonzero and x == 0):
            return float(x) + 0.0  # normalise -0.0
    raise ValueError(f"could not draw a nonzero value for {name}")


def variant_seed(set_id: str, problem_id: str, student: str | None) -> str:
    return f"{set_id}\x00{problem_id}\x00{student or REFERENCE_STUDENT}"
