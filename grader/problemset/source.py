"""Read YAML (or JSON) keeping the line of every value, and the error that names file, problem, field, line.

``read_document`` is the one reader of every YAML/JSON document the project reads (bounds and their
values: ``grader.problemset.reader`` and docs/limits.md).

Exception hierarchy::

    ValueError
     └── InputError          a problem-set or answers file is broken; says what and where
          ├── ProblemSetError
          └── AnswersError
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from grader.problemset.reader import DOCUMENT_LIMITS, DocumentError, Limits, Path, parse

__all__ = ["AnswersError", "Document", "InputError", "Limits", "Path", "ProblemSetError", "kind_of", "read_document",
           "read_document_file", "read_text_file"]


def kind_of(value: Any) -> str:
    """What a value read from YAML or JSON is, for messages: ``a mapping``, ``a list``, ``true``, ``int``."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


class InputError(ValueError):
    """A broken input file. ``str()`` is the message a person sees."""

    def __init__(self, message: str, *, file: str = "", problem: str | None = None, field: str | None = None,
                 line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.problem = problem
        self.field = field
        self.line = line
        super().__init__(self.describe())

    def describe(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        context = []
        if self.problem is not None:
            context.append(f"problem {self.problem}")
        if self.field:
            context.append(f"field {self.field}")
        prefix = f"{where}: " + (", ".join(context) + ": " if context else "")
        return prefix + self.message

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "file": self.file, "problem": self.problem, "field": self.field,
                "line": self.line, "error": self.describe()}


class ProblemSetError(InputError):
    """The problem-set file cannot be used."""


class AnswersError(InputError):
    """The answers file cannot be read."""


@dataclass
class Document:
    """Plain data from a YAML/JSON text, with the 1-based line of every mapping value and list item."""

    data: Any
    file: str
    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def read_text_file(path: str | PathLike[str], error: type[InputError] = InputError,
                   limits: Limits = DOCUMENT_LIMITS) -> str:
    """The UTF-8 text of a file, or ``error`` saying why it cannot be read (a file too large is not read)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > 4 * limits.max_chars:  # UTF-8 needs at most 4 bytes a character
                raise error(f"the file is too large ({size:,} bytes; at most {limits.max_chars:,} characters)",
                            file=str(path))
            return f.read().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read the file: {exc}", file=str(path)) from None


def read_document(text: str, file: str = "<document>", error: type[InputError] = InputError,
                  limits: Limits = DOCUMENT_LIMITS) -> Document:
    """Parse YAML or JSON ``text`` within ``limits`` into plain data with line numbers.

    Nothing is constructed but strings, numbers, booleans, null, lists and mappings; a file that breaks
    a bound or is not YAML/JSON raises ``error`` with the file and line (``grader.problemset.reader``).
    """
    try:
        data, lines = parse(text, limits)
    except DocumentError as exc:
        raise error(exc.message, file=file, line=exc.line) from None
    if not lines:
        raise error("the file is empty", file=file)
    return Document(data, file, lines)


def read_document_file(path: str | PathLike[str], error: type[InputError] = InputError,
                       limits: Limits = DOCUMENT_LIMITS) -> Document:
    """``read_document`` of a file's text."""
    return read_document(read_text_file(path, error, limits), str(path), error, limits)
