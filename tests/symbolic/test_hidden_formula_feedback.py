"""Formula feedback while expected values are hidden: the same mistake named, no number from the key."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from grader.grading.result import Verdict
from grader.problemset.loader import load_problem_set, load_problem_set_file
from grader.problemset.model import ExpressionProblem
from grader.symbolic.grade import grade_expression

ROOT = Path(__file__).resolve().parents[2]

# (set, problem, answer, misconception, what the full wording quantifies)
CASES = [
    ("dl-hw2", "q2", "2*sigma(x)*(1-sigma(x))", "constant_factor", "2 times"),
    ("dl-hw2", "q2", "sigma(x)*(1-sigma(x)) + 1", "additive_constant", "1 more"),
    ("dl-hw2", "q2", "sigma(x)*(1-sigma(x)) + 0.000001", "additive_constant", "1e-06"),
    ("dl-hw2", "q2", "sigma(x)^2", None, "the correct value is"),
    ("dl-hw2", "q2", "log(x)", "undefined_region", "at x ="),
    ("dl-hw2", "q4", "K*(K+1)/2", None, "at K = 2 the correct value is 1"),
    ("dl-hw2", "q3", "h3 - y1", None, "the correct value is"),
    ("activation-derivatives", "sigmoid-unit", "sigma(w*x+b)*(1-sigma(w*x+b))", "missing_chain_factor", "factor x"),
    ("activation-derivatives", "relu6", "1 if x > 0 else 0", "wrong_region", "x > 6"),
    ("activation-derivatives", "relu-pytorch", "Heaviside(x)", "wrong_at_kink", "the value there is 0"),
]


@cache
def problem(set_name: str, problem_id: str) -> ExpressionProblem:
    found = load_problem_set_file(ROOT / "problems" / f"{set_name}.yaml").problem(problem_id)
    assert isinstance(found, ExpressionProblem)
    return found


@pytest.mark.parametrize(("set_name", "pid", "answer", "misconception", "quantified"), CASES)
def test_the_hidden_wording_names_the_mistake_without_a_number(set_name: str, pid: str, answer: str,
                                                               misconception: str | None, quantified: str) -> None:
    p = problem(set_name, pid)
    result = grade_expression(p, answer)
    assert result.verdict is Verdict.INCORRECT
    assert result.misconception == misconception
    assert quantified in result.feedback  # the instructor's wording says how much, or where
    hidden = result.hidden
    assert hidden != result.feedback
    assert p.space is not None
    names = sorted([*p.space.variables, *p.space.families], key=len, reverse=True)
    stripped = re.sub("|".join(re.escape(n) for n in names), "", hidden)
    assert not re.search(r"\d", stripped), hidden  # no number at all, once the variables' names are out
    assert hidden.endswith(".") and hidden[0].isupper()


def test_a_named_sign_mistake_is_told_in_both_wordings() -> None:
    result = grade_expression(problem("dl-hw2", "q2"), "-sigma(x)*(1-sigma(x))")
    assert result.misconception == "sign"
    assert result.hidden == result.feedback


def test_a_number_for_a_constant_key_is_told_only_its_direction() -> None:
    ps = load_problem_set("id: c\nproblems:\n  - id: third\n    kind: expression\n    variables: {x: real}\n"
                          "    answer: 1/3\n")
    third = ps.problem("third")
    assert isinstance(third, ExpressionProblem)
    high, low = grade_expression(third, "0.9"), grade_expression(third, "0.1")
    assert "0.333" in high.feedback
    assert (high.hidden, low.hidden) == ("Not correct: too large in magnitude.", "Not correct: too small in magnitude.")
