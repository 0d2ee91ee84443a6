"""The live preview: what a student typed, read by the same parser that grades it, drawn as MathML.

A formula typed as a derivation (a step per line, or ``a = b = c``) is shown step by step.

A numeric answer is read as the grader reads numbers (``0.83``, ``1/3``, ``tanh(1.2)``) and its value is
shown too; a formula is read with the problem's own names (its variables, defines and indices). A text
that cannot be read gets the parser's message, with the column.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from html import escape
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from grader.expr import ExpressionError, parse, read_answer
from grader.expr.mathml import MathMLError, to_mathml
from grader.expr.parser import MAX_LENGTH
from grader.grading.numeric import MAX_NUMERIC_TEXT, NumberError, read_number
from grader.problemset.model import ExpressionProblem, Problem
from grader.service.api.deps import ServiceDep, SessionDep
from grader.service.api.schemas import BodyIn
from grader.service.errors import NotFound
from grader.service.loaded import loaded_set
from grader.service.store.sets import current_version, visible_set
from grader.symbolic.derivation import MAX_DERIVATION_CHARS, Refused, split_steps

from .session import JsonUser


@dataclass
class Preview:
    ok: bool
    mathml: str = ""
    error: str | None = None
    column: int | None = None  # 1-based, in the text as typed
    value: float | None = None  # a numeric answer's value


def preview_number(text: str) -> Preview:
    """A numeric answer as the grader will read it."""
    stripped = text.strip()
    if not stripped:
        return Preview(ok=True)
    lead = len(text) - len(text.lstrip())
    try:
        value = read_number(text)
    except NumberError as exc:
        column = None
        try:
            parse(stripped, symbols=set(), max_length=MAX_NUMERIC_TEXT)
        except ExpressionError as parse_error:
            column = parse_error.offset + 1 + lead if parse_error.offset >= 0 else None
        return Preview(ok=False, error=str(exc), column=column)
    tree = parse(stripped, symbols=set(), max_length=MAX_NUMERIC_TEXT)
    return Preview(ok=True, mathml=_mathml(tree), value=value)


def preview_formula(text: str, problem: ExpressionProblem) -> Preview:
    """A formula answer read with the problem's names, as the grader will read it."""
    if not text.strip():
        return Preview(ok=True)
    symbols = problem.space.symbols() if problem.space is not None else set(problem.variables)
    indices = problem.space.indices if problem.space is not None else None

    def readable(step: str) -> bool:
        try:
            read_answer(step, symbols, indices=indices)
        except ExpressionError:
            return False
        return True

    steps = split_steps(text, readable)
    if isinstance(steps, Refused):
        return Preview(ok=False, error=steps.message)
    if steps is not None and len(steps) > 1:  # a derivation: each step shown on its line, after "="
        shown = []
        for k, step in enumerate(steps, 1):
            try:
                tree = read_answer(str(step), symbols, indices=indices)
            except ExpressionError as exc:
                return Preview(ok=False, error=f"step {k}: {exc.describe()}")
            shown.append(f'<span class="step">{"= " if k > 1 else ""}{_mathml(tree)}</span>')
        return Preview(ok=True, mathml="".join(shown))
    try:
        tree = read_answer(text, symbols, indices=indices)
    except ExpressionError as exc:
        return Preview(ok=False, error=exc.describe(), column=exc.offset + 1 if exc.offset >= 0 else None)
    return Preview(ok=True, mathml=_mathml(tree))


PLAIN_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def preview_html(preview: Preview, text: str) -> str:
    """The preview as the page shows it before any typing: the MathML, and the value of a computed number."""
    if not preview.ok:
        return escape(preview.error or "")
    out = preview.mathml
    if preview.value is not None and not PLAIN_NUMBER.match(text):
        out += f'<span class="value">= {preview.value:.6g}</span>'
    return out


def preview_for(problem: Problem, text: str) -> Preview:
    if isinstance(problem, ExpressionProblem):
        return preview_formula(text, problem)
    return preview_number(text)


def _mathml(tree: Any) -> str:
    try:
        return to_mathml(tree)
    except MathMLError:
        return ""


class PreviewIn(BodyIn):
    text: str = Field(max_length=max(MAX_LENGTH, MAX_DERIVATION_CHARS),
                      description="what the student typed (a formula, or a derivation, a step per line)")
    set: str = Field(max_length=64, description="the problem set's id")
    problem: str = Field(max_length=64, description="the problem's id")


router = APIRouter(tags=["pages"], include_in_schema=False)


@router.post("/preview")
def read_preview(body: PreviewIn, session: SessionDep, user: JsonUser, service: ServiceDep) -> dict[str, Any]:
    """Read a typed answer for one problem and return it as MathML, or the reason it cannot be read.

    Rate limited per user (429 with Retry-After when the user's preview bucket is empty).
    """
    service.limiter.take("preview", user.id)
    problem_set = visible_set(session, user=user, name=body.set)
    ps = loaded_set(current_version(session, problem_set=problem_set))
    try:
        problem = ps.problem(body.problem)
    except KeyError:
        raise NotFound(f"problem set {body.set!r} has no problem {body.problem!r}") from None
    return asdict(preview_for(problem, body.text))
