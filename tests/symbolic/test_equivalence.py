"""The equivalence engine: precision, kinks, exact confirmation, time bound."""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import pytest

from grader.expr import parse
from grader.grading.result import Verdict
from grader.problemset.loader import load_problem_set_file
from grader.problemset.model import ExpressionProblem
from grader.symbolic.derivative import expand_diffs
from grader.symbolic.equivalence import Checker, Status
from grader.symbolic.exact import exact_compare
from grader.symbolic.grade import grade_expression
from grader.symbolic.space import REAL, Budget, Domain, Space

ROOT = Path(__file__).resolve().parents[2]
X = Space(variables={"x": REAL})


def judge(key: str, answer: str, space: Space = X, at_kinks: str = "ignore") -> str:
    checker = Checker(space, expand_diffs(parse(key, space.symbols()), space), at_kinks)
    return checker.judge(parse(answer, space.symbols()), Budget(5)).verdict


@pytest.mark.parametrize(("key", "answer", "verdict"), [
    # far out, floats cancel to 0 or overflow; high precision settles it
    ("sigmoid(x)*(1 - sigmoid(x))", "exp(-x)/(1 + exp(-x))^2", "equal"),
    ("sigmoid(x)*(1 - sigmoid(x))", "2*exp(-x)/(1 + exp(-x))^2", "different"),
    ("1 - tanh(x)^2", "4/(exp(x) + exp(-x))^2", "equal"),
    ("1 - tanh(x)^2", "2/(exp(x) + exp(-x))^2", "different"),
    ("log(1 + exp(x))", "softplus(x)", "equal"),
    ("x", "x + 1e-12", "different"),
    # probing wide and near constants: relu6' is not relu'
    ("diff(relu(x), x)", "1 if 0 < x < 6 else 0", "different"),
    ("diff(relu(x), x)", "1 if 0 < x < 100 else 0", "different"),
    ("diff(relu(x), x)", "1 if x > 0.001 else 0", "different"),
    ("x", "sqrt(x^2)", "different"),
    ("abs(x)", "sqrt(x^2)", "equal"),
])
def test_verdicts(key: str, answer: str, verdict: str) -> None:
    assert judge(key, answer) == verdict


def test_kinks_count_only_when_the_problem_says_so() -> None:
    key = "diff(relu(x), x)"
    assert judge(key, "Heaviside(x)") == "equal"
    assert judge(key, "Heaviside(x)", at_kinks="pytorch") == "different"
    assert judge(key, "Heaviside(x, 0)", at_kinks="pytorch") == "equal"


def test_a_mismatch_is_confirmed_in_high_precision() -> None:
    checker = Checker(X, parse("sigmoid(x)*(1 - sigmoid(x))", X.symbols()))
    judgement = checker.judge(parse("2*exp(-x)/(1 + exp(-x))^2", X.symbols()), Budget(5))
    confirmed = [s for s in judgement.samples if s.status is Status.DIFFER]
    assert confirmed and all(s.precise for s in confirmed)


def test_exact_confirmation_proves_and_refutes() -> None:
    space = Space(variables={"x": REAL, "y": REAL})
    key = parse("sigmoid(x - y)", space.symbols())
    assert exact_compare(space, key, parse("exp(x)/(exp(x) + exp(y))", space.symbols()), [], Budget(5)) is True
    assert exact_compare(space, key, parse("exp(x)/(exp(x) + exp(y) + 1e-30)", space.symbols()), [],
                         Budget(5)) is False
    assert exact_compare(space, key, parse("sigmoid(x - y) + abs(x) - abs(x)", space.symbols()), [],
                         Budget(5)) is None


def test_integer_domains_are_swept_exhaustively() -> None:
    space = Space(variables={"K": Domain(integer=True, low=2, high=50)})
    checker = Checker(space, parse("K*(K - 1)/2", space.symbols()))
    judgement = checker.judge(parse("(K^2 - K)/2", space.symbols()), Budget(5))
    assert judgement.verdict == "equal" and judgement.exact is True
    # equal on 2..50 only because of the domain: K*(K-1)/2 and a formula that differs at K = 51
    late = parse("K*(K - 1)/2 + Heaviside(K - 50.5)", space.symbols())
    assert checker.judge(late, Budget(5)).verdict == "equal"


def test_no_time_left_means_undecided() -> None:
    checker = Checker(X, parse("sigmoid(x)", X.symbols()))
    judgement = checker.judge(parse("sigmoid(x)", X.symbols()), Budget(0.0))
    assert judgement.verdict == "undecided"
    problem = load_problem_set_file(ROOT / "problems" / "activation-derivatives.yaml").problem("sigmoid")
    assert isinstance(problem, ExpressionProblem)
    rushed = copy.copy(problem)
    rushed.options = {**problem.options, "time_limit": 0.0}
    result = grade_expression(rushed, "exp(-x)/(1 + exp(-x))^2")
    assert result.verdict is Verdict.UNDECIDED and "flagged for a person" in result.feedback


def test_the_bound_holds_off_the_main_thread() -> None:
    """A Celery thread pool runs checks off the main thread, where signal-based timeouts cannot work."""
    checker = Checker(X, parse("sigmoid(x)*(1 - sigmoid(x))", X.symbols()))
    verdicts: list[str] = []

    def run() -> None:
        verdicts.append(checker.judge(parse("exp(-x)/(1 + exp(-x))^2", X.symbols()), Budget(5)).verdict)
        verdicts.append(checker.judge(parse("exp(-x)/(1 + exp(-x))^2", X.symbols()), Budget(0.0)).verdict)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(verdicts) == ["equal"] * 3 + ["undecided"] * 3
