"""Loading expression problems: computed keys, display forms, and errors that name field and line."""

from __future__ import annotations

import time

import pytest

from grader.problemset.loader import load_problem_set
from grader.problemset.model import ExpressionProblem
from grader.problemset.source import ProblemSetError
from grader.symbolic.grade import expression_key, grade_expression


def one(body: str) -> ExpressionProblem:
    lines = "".join(f"    {line}\n" for line in body.splitlines())
    text = "id: t\nproblems:\n  - id: q\n    kind: expression\n" + lines
    problem = load_problem_set(text, "t.yaml").problem("q")
    assert isinstance(problem, ExpressionProblem)
    return problem


def fails(body: str) -> ProblemSetError:
    with pytest.raises(ProblemSetError) as info:
        one(body)
    return info.value


def test_spec_examples_load_and_show_their_keys() -> None:
    q2 = one("variables: {x: real}\nanswer: diff(sigmoid(x), x)")
    assert expression_key(q2)["answer"] == "sigmoid(x)*(1 - sigmoid(x))"
    assert expression_key(q2)["latex"] == r"\sigma\left(x\right) \cdot \left(1 - \sigma\left(x\right)\right)"
    q4 = one("variables: {K: {integer: true, range: [2, 50]}}\nanswer: K*(K - 1)/2")
    assert expression_key(q4)["variables"] == {"K": "integer in [2, 50]"}


def test_display_must_equal_the_computed_answer() -> None:
    shown = one("variables: {p: real, y: real}\nanswer: diff((y - p)^2, p)\ndisplay: 2*(p - y)")
    assert expression_key(shown)["answer"] == "2*(p - y)"
    error = fails("variables: {p: real, y: real}\nanswer: diff((y - p)^2, p)\ndisplay: 2*(y - p)")
    assert error.field == "display" and error.line == 7
    assert "not equal to the answer" in error.describe()


@pytest.mark.parametrize(("body", "field", "fragment"), [
    ("variables: {x: real}", None, "needs an answer"),
    ("variables: {x: reel}\nanswer: x", "variables.x", "unknown domain 'reel'"),
    ("variables: {x: real}\nanswer: sigmoidd(x)", "answer", 'unknown function "sigmoidd"'),
    ("variables: {x: real}\nanswer: x + z", "answer", 'unknown name "z"'),
    ("variables: {x: real}\nanswer: diff(x^2, y)", "answer", "unknown name"),
    ("variables: {K: integer}\nanswer: diff(K^2, K)", "answer", "needs a variable"),
    ("variables: {e: real}\nanswer: e", "variables.e", "Euler"),
    ("variables: {tanh: real}\nanswer: tanh", "variables.tanh", "name of a function"),
    ("variables: {x: {range: [1, 0]}}\nanswer: x", "variables.x.range", "low < high"),
    ("variables: {x: real}\nat_kinks: torch\nanswer: x", "at_kinks", "ignore, pytorch"),
    ("variables: {x: real}\ndefine: {a: b, b: a}\nanswer: a", "define.a", "circle"),
    ("variables: {x: real}\nanswer: log(-1 - x^2)", "answer", "no value at enough points"),
    ("indices: {i: [1, 30]}\nvariables: {x: real}\nanswer: x", "indices.i", "at most 9 values"),
    ("variables: {z: {indexed: true}}\nanswer: z_1", "variables.z", "needs indices"),
    ("variables: {x: real}\nanswr: x", "answr", "did you mean answer"),
])
def test_errors_name_the_field(body: str, field: str | None, fragment: str) -> None:
    error = fails(body)
    assert fragment in error.describe()
    assert error.field == field
    assert error.line is not None and error.problem == "q"


def test_indexed_families_and_defines() -> None:
    problem = one("indices: {i: [1, 3], j: [1, 3], k: [1, 3], m: [1, 3]}\nvariables: {z: {indexed: true}}\n"
                  "define:\n  s_k: exp(z_k)/sum(exp(z_m), m, 1, 3)\nanswer: diff(s_i, z_j)")
    assert "KroneckerDelta(i, j)" in expression_key(problem)["answer"]
    assert grade_expression(problem, "s_i*(delta_ij - s_j)").verdict.value == "correct"
    assert grade_expression(problem, "s_i*(delta_ij - s_i)").verdict.value == "incorrect"


def test_a_number_for_a_constant_key_uses_the_tolerance() -> None:
    problem = one("answer: 1/3\ntolerance: {sigfigs: 3}")
    assert grade_expression(problem, 0.333).verdict.value == "correct"
    assert grade_expression(problem, 0.33).verdict.value == "incorrect"
    assert grade_expression(problem, "1/3").verdict.value == "correct"


def test_long_sums_in_a_set_file_load_and_grade() -> None:
    terms = " + ".join(f"{k}*x" if k % 2 else f"x/{k}" for k in range(1, 801))
    problem = one(f"variables: {{x: real}}\nanswer: diff({terms}, x)")
    expected = sum(k if k % 2 else 1 / k for k in range(1, 801))
    assert grade_expression(problem, repr(expected)).verdict.value == "correct"
    deep = "x"
    for _ in range(13):  # a bracket opening 16 operators, 13 times: 209 levels
        deep = f"({deep})" + " + x" * 16
    error = fails(f"variables: {{x: real}}\nanswer: {deep}")
    assert "nested too deeply (more than 200 levels)" in error.message and error.field == "answer" and error.line == 6


def test_a_key_too_large_to_check_is_refused_before_it_is_checked() -> None:
    start = time.process_time()
    error = fails("variables: {x: real}\nanswer: " + " + ".join(["x"] * 4_999))
    assert "the answer is too large: more than 3,000 values and operations" in error.message
    assert error.field == "answer" and time.process_time() - start < 3  # checking it in full took about 7 s
    squares = "+".join(f"tanh({k}*x)^2" for k in range(1, 400))
    derivative = fails(f"variables: {{x: real}}\nanswer: diff({squares}, x)")
    assert "with its derivatives taken" in derivative.message
    define = fails("variables: {x: real}\ndefine: {h: " + " + ".join(["x"] * 2_000) + "}\nanswer: h*h")
    assert define.field == "define.h" and "too large" in define.message
