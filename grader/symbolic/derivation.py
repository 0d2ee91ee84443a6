"""Derivations (SPEC 6.6): a formula answer written as steps, the last being the final answer.

A derivation is a YAML list of steps, or one text with a step per line; a line may also chain steps
with ``=`` (``a = b = c`` is the steps a, b, c). The text before the first ``=`` of the first line is
a left-hand side such as ``f'(x)`` or ``\\frac{d}{dx}\\sigma(x)`` and is dropped when it cannot be read
as a formula of the problem (as a one-line answer's left-hand side always was); when it can, it is a
step. A line that starts with ``=`` continues the one before. Brackets and ``\\begin{cases}`` may
span lines: a line is joined to the next while one is open.

Only the layout is decided here; each step is read and judged like any answer by ``grade.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from grader.expr.parser import MAX_LENGTH
from grader.problemset.source import kind_of

MAX_STEPS = 30  # steps of one derivation
MAX_STEP_CHARS = MAX_LENGTH  # characters of one step: those of any one formula
MAX_DERIVATION_CHARS = 20_000  # characters of all the steps together

_IF = re.compile(r"\bif\b")
_ELSE = re.compile(r"\belse\b")
_DELIMITERS = (("\\[", "\\]"), ("\\(", "\\)"))

Step = str | int | float


@dataclass(frozen=True)
class Refused:
    """Why an answer cannot be taken as a derivation (the part is then invalid)."""

    message: str


def split_steps(submitted: object, readable: Callable[[str], bool]) -> list[Step] | Refused | None:
    """The steps of ``submitted``, or ``Refused``, or None when it is not text or a list of steps.

    ``readable(text)`` says whether a text reads as a formula of the problem (for the left-hand side).
    """
    if isinstance(submitted, str):
        if len(submitted) > MAX_DERIVATION_CHARS:
            return Refused(f"the answer is too long ({len(submitted):,} characters; a derivation has at most "
                           f"{MAX_DERIVATION_CHARS:,})")
        items: list[object] = [submitted]
    elif isinstance(submitted, list):
        items = list(submitted)
        if len(items) > MAX_STEPS:
            return Refused(f"a derivation has at most {MAX_STEPS} steps; this one has {len(items)}")
        total = sum(len(x) for x in items if isinstance(x, str))
        if total > MAX_DERIVATION_CHARS:
            return Refused(f"the derivation is too long ({total:,} characters; at most {MAX_DERIVATION_CHARS:,})")
    else:
        return None
    steps: list[Step] = []
    for k, item in enumerate(items, 1):
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            what = "nothing" if item is None else kind_of(item)
            return Refused(f"step {k} is {what}; each step of a derivation is a formula (text) or a number")
        if not isinstance(item, str):
            steps.append(item)
            continue
        for text in _segments(item):
            steps.append(text)
    if steps and isinstance(items[0], str) and len(steps) > 1:
        lhs = _left_hand_side(items[0])
        if lhs is not None and not readable(lhs):
            steps.pop(0)
    if len(steps) > MAX_STEPS:
        return Refused(f"a derivation has at most {MAX_STEPS} steps; this one has {len(steps)}")
    for k, step in enumerate(steps, 1):
        if isinstance(step, str) and len(step) > MAX_STEP_CHARS:
            return Refused(f"step {k} is too long ({len(step):,} characters; a step has at most {MAX_STEP_CHARS:,})")
    return steps


def _segments(text: str) -> list[str]:
    """The steps of one text: its logical lines, each split at its top-level ``=``."""
    out: list[str] = []
    for line in _lines(_undelimited(text)):
        for part in _split_equals(_undelimited(line)):
            part = _tidy(part)
            if part:
                out.append(part)
    return out


def _undelimited(text: str) -> str:
    """``text`` without ``$`` (it has no meaning inside a formula) and without enclosing ``\\[ \\]``."""
    body = text.replace("$", "").strip()
    for opener, closer in _DELIMITERS:
        if body.startswith(opener) and body.endswith(closer) and len(body) >= len(opener) + len(closer):
            return body[len(opener):len(body) - len(closer)]
    return body


def _lines(text: str) -> list[str]:
    """Lines, a line joined to the next while a bracket or a ``\\begin`` is open."""
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        if pending and raw.lstrip().startswith("="):  # a new step, whatever was left open before
            out.append(pending)
            pending = ""
        pending = f"{pending} {raw}" if pending else raw
        if _level(pending) <= 0:
            out.append(pending)
            pending = ""
    if pending:
        out.append(pending)
    return [line for line in out if line.strip()]


def _level(text: str) -> int:
    level = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            level += 1
        elif ch in ")]}":
            level -= 1
        elif ch == "\\" and text.startswith("\\begin", i):
            level += 1
        elif ch == "\\" and text.startswith("\\end", i):
            level -= 1
    return level


def _equals(text: str) -> list[int]:
    """Offsets of the lone ``=`` outside brackets, ``cases`` and ``if ... else`` (not ``<=``, ``==``, ...)."""
    level = 0
    found: list[int] = []
    for i, ch in enumerate(text):
        if ch in "([{":
            level += 1
        elif ch in ")]}":
            level -= 1
        elif text.startswith("\\begin", i):
            level += 1
        elif text.startswith("\\end", i):
            level -= 1
        elif ch == "=" and level == 0:
            before = text[i - 1] if i > 0 else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            if (before and before in "<>!=\\") or (after and after in "=<>"):
                continue
            if len(_IF.findall(text, 0, i)) > len(_ELSE.findall(text, 0, i)):
                continue  # inside a condition: ``1 if x = 0 else 2``
            found.append(i)
    return found


def _split_equals(line: str) -> list[str]:
    cuts = _equals(line)
    bounds = [-1, *cuts, len(line)]
    return [line[a + 1:b] for a, b in pairwise(bounds)]


def _tidy(part: str) -> str:
    """A step without the layout around it: ``&`` of aligned LaTeX, a trailing ``\\\\``, a full stop."""
    part = part.strip()
    if part.startswith("&"):
        part = part[1:].strip()
    while part.endswith("\\\\"):
        part = part[:-2].rstrip()
    if part.endswith("&"):
        part = part[:-1].rstrip()
    if part.endswith(",") or (part.endswith(".") and not part[-2:-1].isdigit()):
        part = part[:-1].rstrip()
    return part


def _left_hand_side(first: str) -> str | None:
    """The text before the first top-level ``=`` of the first line, if that line has one."""
    lines = _lines(_undelimited(first))
    if not lines:
        return None
    line = _undelimited(lines[0])
    cuts = _equals(line)
    if not cuts:
        return None
    lhs = _tidy(line[:cuts[0]])
    return lhs or None
