"""Hostile answers at the whole checker: a verdict or an error within the time bound, nothing executed."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.grading.result import Verdict
from grader.problemset.loader import load_problem_set, load_problem_set_file
from grader.problemset.model import ExpressionProblem
from grader.symbolic.grade import grade_expression

ROOT = Path(__file__).resolve().parents[2]
FRAGMENTS = [
    "x", "2", "0.5", "1000", "+", "-", "*", "/", "^", "(", ")", "|", ",", "sigma", "tanh", "exp", "log", "relu",
    "max", "sqrt", "sech", "huber", "1 if x > 0 else ", "Heaviside", "\\frac{", "}{", "}", "e^{", "\\sigma(",
    "sum(", ", i, 1, 3)", "__import__", "'", "lambda", "9**9", "!",
]
answers = st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join)
SLOW_SET = """
id: slow
problems:
  - id: tight
    kind: expression
    variables: {x: real}
    answer: diff(sigmoid(x), x)
    time_limit: 0.05
"""


@cache
def sigmoid_problem() -> ExpressionProblem:
    found = load_problem_set_file(ROOT / "problems" / "activation-derivatives.yaml").problem("sigmoid")
    assert isinstance(found, ExpressionProblem)
    return found


@settings(deadline=None, max_examples=150, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(answers)
def test_any_answer_gets_a_verdict_within_the_bound(text: str) -> None:
    problem = sigmoid_problem()
    start = time.perf_counter()
    result = grade_expression(problem, text)
    elapsed = time.perf_counter() - start
    assert result.verdict in set(Verdict)
    assert result.feedback
    if result.verdict is Verdict.INVALID:
        assert "column" in result.feedback or "expected" in result.feedback or "too" in result.feedback
    assert elapsed < problem.options["time_limit"] + 0.5


def test_a_sum_too_long_to_evaluate_is_refused() -> None:
    result = grade_expression(sigmoid_problem(), "sum(x, i, 1, 10^9)")
    assert result.verdict in (Verdict.INVALID, Verdict.INCORRECT)
    assert "too many terms" in result.feedback or "index" in result.feedback


def test_running_out_of_time_is_undecided_never_wrong() -> None:
    problem = load_problem_set(SLOW_SET).problem("tight")
    assert isinstance(problem, ExpressionProblem)
    nested = "sigma(x)*(1-sigma(x))" + "".join(f" + {k}*(tanh(x)^2 - tanh(x)^2)" for k in range(1, 60))
    start = time.perf_counter()
    result = grade_expression(problem, nested)
    assert time.perf_counter() - start < 2.0  # the bound of hostile input; a shared machine is slow
    assert result.verdict in (Verdict.UNDECIDED, Verdict.CORRECT)
    if result.verdict is Verdict.UNDECIDED:
        assert "flagged for a person" in result.feedback
        assert result.credit == 0.0 and result.misconception is None


def test_non_text_answers_are_invalid_with_a_reason() -> None:
    # a list is a derivation (SPEC 6.6): its steps must be formulas or numbers
    for value, word in (([1, [2]], "step 2 is a list"), (["x", {"a": 1}], "step 2 is a mapping"),
                        ({"a": 1}, "a mapping"), (True, "true"), ([None, "x"], "step 1 is nothing")):
        result = grade_expression(sigmoid_problem(), value)
        assert result.verdict is Verdict.INVALID
        assert word in result.feedback.lower()


def test_huge_and_deeply_nested_answers_are_invalid_quickly() -> None:
    deep = "x"
    for _ in range(13):  # 209 levels deep
        deep = f"({deep})" + "+x" * 16
    for text in ("x" * 1_000_000, "(" * 10_000 + "x" + ")" * 10_000, "\\left(" * 5_000, deep):
        start = time.perf_counter()
        result = grade_expression(sigmoid_problem(), text)
        assert time.perf_counter() - start < 2.0  # the bound of hostile input; a shared machine is slow
        assert result.verdict is Verdict.INVALID
        assert "too" in result.feedback


def test_a_long_sum_is_graded_not_refused() -> None:
    start = time.perf_counter()
    result = grade_expression(sigmoid_problem(), "sigma(x)*(1-sigma(x))" + " + x - x" * 450)
    assert time.perf_counter() - start < sigmoid_problem().options["time_limit"] + 0.5
    assert result.verdict in (Verdict.CORRECT, Verdict.UNDECIDED)


def test_a_number_no_float_holds_makes_only_that_answer_invalid() -> None:
    for answer in ("1e400*x", "sigma(x)*(1 - sigma(x)) + 1e309", "x^2/1e309", 10**400, float("inf"), "1e309"):
        result = grade_expression(sigmoid_problem(), answer)
        assert result.verdict is Verdict.INVALID, answer
        assert "too large to compare" in result.feedback
        assert not isinstance(result.submitted, int) or abs(result.submitted) < 10**300
    tiny = grade_expression(sigmoid_problem(), "sigma(x)*(1 - sigma(x)) + 1e-400")  # held, and told apart
    assert tiny.verdict is Verdict.INCORRECT and "not exactly" in tiny.feedback
