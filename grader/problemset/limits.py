"""How large a problem set may be, checked from what the file declares, before anything is built.

A problem's *size* is the number of values and operations the grader holds for it. For a network:
each given value and parameter, and each operation of its formulas (a weight costs its value, a
product and a sum; a unit its bias and activation; a softmax unit reads every unit of its layer);
grading a submission costs about the square of that. For an expression problem: the operations of
its key once derivatives are taken, of its defines and of its display form; the key is checked at
many points when the set is loaded, at a cost proportional to that. The bounds sit far above any
hand-calculation homework (the worked example of the SPEC is 66) yet keep loading a set and
grading one submission to about a second at worst:

``MAX_PROBLEMS``       problems in one set
``MAX_LAYER_WIDTH``    units of one layer, and inputs or targets of the layer form
``MAX_PROBLEM_SIZE``   size of one problem
``MAX_SET_SIZE``       size of all the problems of a set together

Layer sizes are known from ``units`` or the number of weight rows, so ``units: 1000000`` is refused
before one weight is drawn; a formula is counted once parsed (it is at most ``MAX_FORMULA_LENGTH``
characters), a key once differentiated, before it is checked.
"""

from __future__ import annotations

from typing import Any

from grader.expr.nodes import Expr, walk
from grader.problemset.context import MAX_FORMULA_LENGTH, Context

MAX_PROBLEMS = 100
MAX_LAYER_WIDTH = 256
MAX_PROBLEM_SIZE = 3_000
MAX_SET_SIZE = 5_000

__all__ = ["MAX_FORMULA_LENGTH", "MAX_LAYER_WIDTH", "MAX_PROBLEMS", "MAX_PROBLEM_SIZE", "MAX_SET_SIZE",
           "check_problem_count", "check_width", "layer_size", "spend", "tree_size"]


def check_problem_count(problems: list[Any], ctx: Context) -> None:
    if len(problems) > MAX_PROBLEMS:
        ctx.fail(f"the set has {len(problems):,} problems; at most {MAX_PROBLEMS} are accepted", "problems")


def check_width(count: int, what: str, ctx: Context, *path: str | int) -> None:
    """Refuse a layer (or inputs, or targets: ``what``) of more than ``MAX_LAYER_WIDTH``."""
    if count > MAX_LAYER_WIDTH:
        ctx.fail(f"{count:,} {what}; at most {MAX_LAYER_WIDTH} are accepted", *path)


def layer_size(units: int, previous: int, activation: Any) -> int:
    """The size a dense layer adds: per unit its weights, their products and sums, its bias and activation."""
    size = units * (3 * previous + 2)
    if isinstance(activation, str) and activation.strip().lower() == "softmax":
        size += units * units
    return size


def tree_size(tree: Expr) -> int:
    """Values and operations of one formula (an upper bound: a name used twice is counted twice)."""
    return sum(1 for _ in walk(tree))


def spend(ctx: Context, size: int, *path: str | int, what: str = "network") -> None:
    """Add ``size`` to the current problem's, failing at ``path`` once the problem or the set is too large.

    ``what`` names the problem in the message: ``network``, or ``answer`` for an expression problem.
    """
    key = f"problem:{ctx.problem}"
    problem = ctx.sizes[key] = ctx.sizes.get(key, 0) + size
    total = ctx.sizes["set"] = ctx.sizes.get("set", 0) + size
    if problem > MAX_PROBLEM_SIZE:
        hint = "each weight counts 3" if what == "network" else "with its derivatives taken and its defines"
        ctx.fail(f"the {what} is too large: more than {MAX_PROBLEM_SIZE:,} values and operations ({hint}; "
                 "see docs/limits.md)", *path)
    if total > MAX_SET_SIZE:
        ctx.fail(f"the set's problems are too large together: more than {MAX_SET_SIZE:,} values and "
                 "operations (see docs/limits.md)", *path)
