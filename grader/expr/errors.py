"""Errors raised while reading expressions.

Exception hierarchy::

    ValueError
     └── ExpressionError        a text could not be read as an expression (has offset, hint)
          └── LimitError        it was refused for size: length, nesting, number or exponent

The message a student or instructor sees is made in one place, ``ExpressionError.describe``.
"""

from __future__ import annotations


class ExpressionError(ValueError):
    """A text that is not a valid expression, with where (0-based offset) and a hint."""

    def __init__(self, message: str, offset: int = -1, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint

    def describe(self) -> str:
        """Student-facing text: ``unknown function "sigmoidd" at column 3; did you mean sigmoid?``."""
        where = f" at column {self.offset + 1}" if self.offset >= 0 else ""
        hint = f"; {self.hint}" if self.hint else ""
        return f"{self.message}{where}{hint}"

    def __str__(self) -> str:
        return self.describe()


class LimitError(ExpressionError):
    """The input is larger or deeper than the grader accepts."""
