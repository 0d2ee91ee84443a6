"""The notation table (``notation_table.yaml``): student spellings, plain text and LaTeX, and what they mean.

Each row's context is an expression problem's declarations (variables, defines, functions, aliases,
indices); its meaning is loaded as that problem's answer, and the spelling, graded as a student's
answer, must be correct. Refused rows must give a clear message naming what is wrong.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.problemset.loader import load_problem_set
from grader.problemset.model import ExpressionProblem
from grader.symbolic.grade import grade_expression

TABLE: dict[str, Any] = yaml.safe_load((Path(__file__).parent / "notation_table.yaml").read_text(encoding="utf-8"))
CONTEXTS: dict[str, dict[str, Any]] = TABLE["contexts"]
READ = [r for r in TABLE["rows"] if r[2] is not None]
REFUSED = [r for r in TABLE["rows"] if r[2] is None]


@cache
def problem(context: str, meaning: str) -> ExpressionProblem:
    body = {"id": "q", "kind": "expression", **CONTEXTS[context], "answer": meaning}
    found = load_problem_set(yaml.safe_dump({"id": "t", "problems": [body]}, allow_unicode=True), "t.yaml").problem("q")
    assert isinstance(found, ExpressionProblem)
    return found


def test_the_table_is_large_and_mixes_plain_text_and_latex() -> None:
    assert len(TABLE["rows"]) >= 100 and len(REFUSED) >= 10
    latex = [r for r in READ if "\\" in r[1]]
    assert len(latex) >= 30 and len(READ) - len(latex) >= 60


@pytest.mark.parametrize(("context", "spelling", "meaning"), READ, ids=[f"{r[0]}:{r[1]}" for r in READ])
def test_a_spelling_means_its_formula(context: str, spelling: str, meaning: str) -> None:
    result = grade_expression(problem(context, meaning), spelling)
    assert result.verdict.value == "correct", result.feedback


@pytest.mark.parametrize(("context", "spelling", "meaning", "fragment"), REFUSED,
                         ids=[f"{r[0]}:{r[1]}" for r in REFUSED])
def test_a_spelling_is_refused_with_a_reason(context: str, spelling: str, meaning: None, fragment: str) -> None:
    answer = {"x": "x", "g": "g(w)", "g2": "g(w, v)"}[context]
    result = grade_expression(problem(context, answer), spelling)
    assert result.verdict.value in ("invalid", "incorrect") and result.credit == 0
    assert fragment.lower() in result.feedback.lower()
    assert "column" in result.feedback
