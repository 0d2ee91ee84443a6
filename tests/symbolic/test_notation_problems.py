"""Expression problems that use the notation of SPEC 6.8, and the defines that build on families."""

from __future__ import annotations

import pytest

from grader.problemset.loader import load_problem_set
from grader.problemset.model import ExpressionProblem
from grader.problemset.source import ProblemSetError
from grader.symbolic.grade import grade_expression


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


def verdict(problem: ExpressionProblem, answer: str) -> str:
    return grade_expression(problem, answer).verdict.value


def test_a_plain_define_may_sum_a_family_define() -> None:
    problem = one("indices: {n: [1, 2]}\nvariables: {x: real, v: {indexed: true}, w: {indexed: true}}\n"
                  "define:\n  yhat: sum(v_n*z_n, n, 1, 2)\n  z_n: tanh(w_n*x)\n"
                  "answer: diff(yhat, x)")
    assert verdict(problem, "v_1*w_1*(1 - tanh(w_1*x)^2) + v_2*w_2*(1 - tanh(w_2*x)^2)") == "correct"
    assert verdict(problem, "sum(v_n*w_n*(1 - z_n^2), n, 1, 2)") == "correct"
    assert verdict(problem, "v_1*w_1*(1 - tanh(w_1*x)^2)") == "incorrect"


def test_family_defines_may_use_each_other_in_any_order() -> None:
    problem = one("indices: {k: [1, 3], m: [1, 3], i: [1, 3]}\nvariables: {z: {indexed: true}}\n"
                  "define:\n  s_k: u_k/sum(u_m, m, 1, 3)\n  u_k: exp(z_k)\n  total: sum(s_m, m, 1, 3)\n"
                  "answer: total")
    assert verdict(problem, "1") == "correct"
    error = fails("indices: {k: [1, 3]}\nvariables: {z: {indexed: true}}\n"
                  "define:\n  s_k: u_k + 1\n  u_k: s_k*z_k\nanswer: s_1")
    assert "in a circle" in error.message
