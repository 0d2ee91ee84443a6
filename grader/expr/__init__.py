"""Expressions: the tree, the function library and the safe parsers (plain text and LaTeX).

``read_answer`` is the one entry point for what a student typed: it picks the front end (a
backslash means LaTeX), drops math delimiters and a left-hand side such as ``f'(x) =``, and reports
errors with their column in the text as typed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from grader.expr.build import MAX_TREE_DEPTH
from grader.expr.errors import ExpressionError, LimitError
from grader.expr.latex import parse_latex
from grader.expr.nodes import Expr
from grader.expr.notation import Notation
from grader.expr.parser import MAX_LENGTH, parse

__all__ = ["MAX_TREE_DEPTH", "ExpressionError", "LimitError", "Notation", "answer_span", "is_latex", "parse",
           "parse_latex", "read_answer"]

_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_IF = re.compile(r"\bif\b")


def is_latex(text: str) -> bool:
    return "\\" in text


def answer_span(text: str) -> tuple[int, int]:
    """The slice of ``text`` that holds the formula: without ``$..$`` and without a left-hand side."""
    start, end = 0, len(text)
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] == "."):
        end -= 1
    for opener, closer in _DELIMITERS:
        if text.startswith(opener, start) and text.endswith(closer, start, end) and end - start >= 2 * len(opener):
            start, end = start + len(opener), end - len(closer)
            break
    equals = _last_top_level_equals(text, start, end)
    if equals is not None and not _IF.search(text, start, equals):
        start = equals + 1
    return start, end


def _last_top_level_equals(text: str, start: int, end: int) -> int | None:
    """The offset of the last lone ``=`` outside brackets and ``cases``, if any."""
    level = 0
    found = None
    i = start
    while i < end:
        ch = text[i]
        if ch in "([{":
            level += 1
        elif ch in ")]}":
            level -= 1
        elif text.startswith("\\begin", i):
            level += 1
        elif text.startswith("\\end", i):
            level -= 1
        elif ch == "=" and level == 0:
            before = text[i - 1] if i > start else ""
            after = text[i + 1] if i + 1 < end else ""
            if before not in "<>!=" and after not in "=<>" and text[i + 1:end].strip():
                found = i
        i += 1
    return found


def read_answer(text: str, symbols: Collection[str] | None = None, *,
                indices: Mapping[str, tuple[int, int | str]] | None = None, max_length: int = MAX_LENGTH,
                notation: Notation | None = None) -> Expr:
    """Read a student's formula, plain text or LaTeX, into a tree; raise ``ExpressionError`` with a column."""
    if len(text) > max_length:
        raise LimitError(f"the answer is too long ({len(text)} characters, at most {max_length})")
    start, end = answer_span(text)
    body = text[start:end]
    if not body.strip():
        raise ExpressionError("the answer is empty")
    try:
        if is_latex(body):
            tree = parse_latex(body, symbols, max_length, indices, notation)
        else:
            tree = parse(body, symbols, max_length, indices, notation)
    except ExpressionError as exc:
        raise exc.shifted(start) from None
    return tree  # at most MAX_TREE_DEPTH levels deep: both parsers check
