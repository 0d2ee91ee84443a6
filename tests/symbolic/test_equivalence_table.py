"""The equivalence table (``cases.yaml``): each answer gets its expected verdict and misconception."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.problemset.loader import load_problem_set_file
from grader.problemset.model import ExpressionProblem, ProblemSet
from grader.symbolic.grade import grade_expression

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
CASES: list[list[Any]] = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))


@cache
def problem_set(name: str) -> ProblemSet:
    for folder in (ROOT / "problems", HERE):
        path = folder / f"{name}.yaml"
        if path.exists():
            return load_problem_set_file(path)
    raise FileNotFoundError(name)


def problem(set_name: str, problem_id: str) -> ExpressionProblem:
    found = problem_set(set_name).problem(problem_id)
    assert isinstance(found, ExpressionProblem)
    return found


def test_the_table_is_large_and_balanced() -> None:
    verdicts = [row[3] for row in CASES]
    assert len(CASES) >= 200
    assert verdicts.count("correct") >= 80 and verdicts.count("incorrect") >= 80


@pytest.mark.parametrize(("set_name", "problem_id", "answer", "verdict", "misconception"), CASES,
                         ids=[f"{r[1]}:{str(r[2])[:40]}" for r in CASES])
def test_case(set_name: str, problem_id: str, answer: object, verdict: str, misconception: str | None) -> None:
    result = grade_expression(problem(set_name, problem_id), answer)
    assert (result.verdict.value, result.misconception) == (verdict, misconception), result.feedback
    assert result.feedback
    assert result.credit == (1.0 if verdict == "correct" else 0.0)
