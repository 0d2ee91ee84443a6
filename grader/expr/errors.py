"""Errors raised while reading expressions.

Exception hierarchy::

    ValueError
     └── ExpressionError        a text could not be read as an expression (has offset, hint, kind)
          └── LimitError        it was refused for size: length, nesting, number or exponent

``kind`` says what went wrong for code that reacts to it (the symbolic grader treats a name that is
not part of the problem as a wrong answer, not as an unreadable one): ``syntax``, ``unknown_name``,
``unknown_function``, ``unsupported`` or ``limit``. The message a student or instructor sees is made
in one place, ``ExpressionError.describe``.
"""

from __future__ import annotations


class ExpressionError(ValueError):
    """A text that is not a valid expression, with where (0-based offset) and a hint."""

    def __init__(self, message: str, offset: int = -1, hint: str | None = None, *, kind: str = "syntax",
                 name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint
        self.kind = kind
        self.name = name

    def describe(self) -> str:
        """Student-facing text: ``unknown function "sigmoidd" at column 3; did you mean sigmoid?``."""
        where = f" at column {self.offset + 1}" if self.offset >= 0 else ""
        hint = f"; {self.hint}" if self.hint else ""
        return f"{self.message}{where}{hint}"

    def shifted(self, by: int) -> ExpressionError:
        """The same error with its offset moved ``by`` characters (the text was a slice of a longer one)."""
        if self.offset >= 0:
            self.offset += by
        return self

    def __str__(self) -> str:
        return self.describe()


class LimitError(ExpressionError):
    """The input is larger or deeper than the grader accepts."""

    def __init__(self, message: str, offset: int = -1, hint: str | None = None) -> None:
        super().__init__(message, offset, hint, kind="limit")
