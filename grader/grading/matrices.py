"""Matrix and vector answers (SPEC 6.4): a nested list spread over its entries, each graded as its own quantity.

``"dL/dW2": [[0.1, -0.2], [0.05, 0.3]]`` gives ``dL/dw2_11``, ``dL/dw2_12``, ... A vector (``b2``, ``z2``,
``a2``, their gradients and updates) may be written flat (``[0.1, 0.2]``), as a column
(``[[0.1], [0.2]]``) or as one row (``[[0.1, 0.2]]``). A matrix with the transposed shape of a
non-square key, and a square matrix that is right only when transposed, are ``incorrect`` with the
misconception ``transposed``; any other shape is ``invalid`` and the feedback names both shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from grader.grading.result import PartResult, Verdict

TRANSPOSED = "transposed"


@dataclass
class Spread:
    name: str
    grid: tuple[tuple[str, ...], ...]
    entries: dict[str, Any] = field(default_factory=dict)  # entry quantity -> value as written
    error: str | None = None  # the shape is wrong: every entry is invalid with this
    swapped: dict[str, Any] = field(default_factory=dict)  # the transpose's entries, to test whether it is right
    transposed_shape: bool = False  # written with the transposed shape of a non-square matrix


def shape_text(rows: int, cols: int) -> str:
    return f"{rows}x{cols}"


def spread(name: str, grid: tuple[tuple[str, ...], ...], value: Any) -> Spread:
    """Spread a written matrix or vector over the entries of ``grid``."""
    out = Spread(name, grid)
    rows, cols = len(grid), len(grid[0]) if grid else 0
    expected = shape_text(rows, cols)
    if not isinstance(value, list):
        out.error = f"{name} is a {expected} matrix: write it as a list of rows, e.g. [[0.1, 0.2], [0.3, 0.4]]"
        if cols == 1:
            out.error = f"{name} is a vector of {rows}: write it as a list, e.g. [0.1, 0.2]"
        return out
    if cols == 1:  # a vector: flat, a column, or one row
        if all(not isinstance(x, list) for x in value):
            flat = value
        elif all(isinstance(x, list) and len(x) == 1 for x in value):
            flat = [x[0] for x in value]
        elif len(value) == 1 and isinstance(value[0], list):
            flat = value[0]
        else:
            out.error = f"{name} is a vector of {rows}; the answer is not a list of numbers"
            return out
        if len(flat) != rows:
            out.error = f"{name} is a vector of {rows} entries; the answer has {len(flat)}"
            return out
        out.entries = {row[0]: x for row, x in zip(grid, flat, strict=True)}
        return out
    if not value or not all(isinstance(r, list) for r in value) or len({len(r) for r in value}) != 1:
        out.error = (f"{name} is a {expected} matrix (one row per unit, one column per unit of the layer "
                     "before); the answer is not a list of rows of equal length")
        return out
    shape = (len(value), len(value[0]))
    if shape == (cols, rows) and rows != cols:
        out.transposed_shape = True
        out.swapped = {grid[j][k]: value[k][j] for j in range(rows) for k in range(cols)}
        return out
    if shape != (rows, cols):
        out.error = (f"{name} is a {expected} matrix (one row per unit, one column per unit of the layer "
                     f"before); the answer is {shape_text(*shape)}")
        return out
    out.entries = {grid[j][k]: value[j][k] for j in range(rows) for k in range(cols)}
    if rows == cols:
        out.swapped = {grid[j][k]: value[k][j] for j in range(rows) for k in range(cols)}
    return out


def settle(parts: dict[str, PartResult], spreads: list[Spread], right: Callable[[str, Any], bool]) -> None:
    """Adjust the entries' parts for the matrices' shapes; ``right`` says whether a value is right for an entry."""
    for s in spreads:
        names = [e for row in s.grid for e in row]
        if s.error is not None:
            for n in names:
                if n in parts:
                    p = parts[n]
                    p.verdict, p.credit, p.misconception = Verdict.INVALID, 0.0, None
                    p.feedback = p.feedback_hidden = f"Could not read this answer: {s.error}."
            continue
        if not s.swapped:
            continue
        transpose_right = all(right(n, v) for n, v in s.swapped.items())
        said = (f"Not correct: this is the transpose of {s.name}. Its rows are the units of the layer, its "
                "columns the units of the layer before.")
        if s.transposed_shape:
            rows, cols = len(s.grid), len(s.grid[0])
            for n in names:
                if n not in parts:
                    continue
                p = parts[n]
                p.credit = 0.0
                if transpose_right:
                    p.verdict, p.misconception = Verdict.INCORRECT, TRANSPOSED
                    p.feedback = p.feedback_hidden = said
                else:
                    p.verdict, p.misconception = Verdict.INVALID, None
                    p.feedback = p.feedback_hidden = (
                        f"Could not read this answer: {s.name} is a {shape_text(rows, cols)} matrix (one row per "
                        f"unit, one column per unit of the layer before); the answer is {shape_text(cols, rows)}.")
            continue
        wrong = [n for n in names if n in parts and parts[n].verdict is not Verdict.CORRECT]
        if wrong and transpose_right:
            for n in wrong:
                p = parts[n]
                p.verdict, p.credit, p.misconception, p.feedback, p.feedback_hidden = (
                    Verdict.INCORRECT, 0.0, TRANSPOSED, said, said)
