"""Expression problems that use the notation of SPEC 6.8, and the defines that build on families."""

from __future__ import annotations

from grader.problemset.model import ExpressionProblem
from grader.symbolic.grade import grade_expression
from tests.symbolic.test_expression_problems import fails, one


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


def test_unknown_functions_are_probed_with_several_stand_ins() -> None:
    problem = one("variables: {w: real}\nfunctions: {g: [w]}\nanswer: diff(sigmoid(g(w)), w)")
    for right in ("sigmoid(g(w))*(1 - sigmoid(g(w)))*g'(w)", "sigma(g)(1 - sigma(g)) dg/dw",
                  "\\sigma(g(w))(1-\\sigma(g(w)))\\frac{\\partial g}{\\partial w}",
                  "\\sigma(g(w))\\left(1-\\sigma(g(w))\\right)\\frac{dg}{dw}"):
        assert verdict(problem, right) == "correct", right
    for wrong in ("sigmoid(g(w))*(1 - sigmoid(g(w)))", "sigmoid(w)*(1 - sigmoid(w))*g'(w)",
                  "sigmoid(g(w))*(1 - sigmoid(g(w)))*g''(w)", "sigmoid(g(w))*(1 - sigmoid(g(w)))*g'(w)^2"):
        assert verdict(problem, wrong) == "incorrect", wrong
    second = one("variables: {w: real}\nfunctions: {g: [w]}\nanswer: diff(g(w)^2, w, 2)")
    assert verdict(second, "2g'(w)^2 + 2g(w)g''(w)") == "correct"
    assert verdict(second, "2g'(w)^2") == "incorrect"


def test_a_function_of_two_parameters_and_its_partial_derivatives() -> None:
    problem = one("variables: {w: real, v: real}\nfunctions: {g: [w, v]}\nanswer: diff(tanh(g(w, v)), w)")
    assert verdict(problem, "(1 - tanh(g(w, v))^2)*dg/dw") == "correct"
    assert verdict(problem, "(1 - tanh(g)^2)\\frac{\\partial g(w, v)}{\\partial w}") == "correct"
    assert verdict(problem, "(1 - tanh(g)^2)*dg/dv") == "incorrect"
    result = grade_expression(problem, "(1 - tanh(g)^2)*g'(w, v)")
    assert result.verdict.value == "invalid" and "parameters" in result.feedback


def test_a_define_may_give_a_value_to_a_function_name() -> None:
    problem = one("variables: {x: real}\ndefine: {sigma: sigmoid(x)}\nanswer: diff(sigmoid(x), x)")
    for right in ("σ(1 - σ)", "sigma(1-sigma)", "sigma*(1 - sigma)", "σ(x)(1 − σ(x))", "\\sigma(1-\\sigma)",
                  "sigma - sigma^2"):
        assert verdict(problem, right) == "correct", right
    assert verdict(problem, "σ(1 + σ)") == "incorrect"


def test_aliases_map_the_course_notation() -> None:
    problem = one('indices: {i: [1, 3]}\nvariables: {a: {indexed: true}, y: real}\ndefine: {yhat: tanh(y)}\n'
                  'aliases: {"a_i^L": a_i, "\\\\hat{y}": yhat}\nanswer: a_2*yhat')
    assert verdict(problem, "a_2^L \\hat{y}") == "correct"
    assert verdict(problem, "a_2^L*yhat") == "correct"
    assert verdict(problem, "a_1^L \\hat{y}") == "incorrect"
    assert "must stand for a name" in fails("variables: {x: real}\naliases: {\"X\": z}\nanswer: x").message
    assert "not a formula" in fails("variables: {x: real}\naliases: {\"x+1\": x}\nanswer: x").message
    assert "already a name" in fails("variables: {x: real, y: real}\naliases: {y: x}\nanswer: x").message


def test_an_index_may_run_to_an_integer_variable() -> None:
    problem = one("indices: {i: [1, n]}\nvariables: {n: {integer: true, range: [1, 40]}}\n"
                  "answer: sum(i^2, i, 1, n)")
    assert verdict(problem, "n(n+1)(2n+1)/6") == "correct"
    assert verdict(problem, "\\sum_i i^2") == "correct"
    assert verdict(problem, "n(n+1)/2") == "incorrect"
    family = one("indices: {i: [1, n], k: [1, n]}\nvariables: {n: {integer: true, range: [1, 5]}, "
                 "x: {indexed: true}}\nanswer: diff(sum(x_k^2, k, 1, n), x_i)")
    assert verdict(family, "2x_i") == "correct"
    assert verdict(family, "2x_i + KroneckerDelta(i, n)") == "incorrect"
    assert "integer variable" in fails("indices: {i: [1, m]}\nvariables: {x: real}\nanswer: x").message
    assert "at most 9" in fails("indices: {i: [1, n]}\nvariables: {n: {integer: true, range: [1, 20]}, "
                                "x: {indexed: true}}\nanswer: x_1").message
