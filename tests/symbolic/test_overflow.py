"""Numbers beyond what floats hold never make a right answer wrong (they are settled in mpmath)."""

from __future__ import annotations

import pytest

from tests.symbolic.test_notation_problems import one, verdict

CASES = [
    ("diff(tanh(x^3), x)", "3x^2 sech(x^3)^2", "correct"),
    ("diff(tanh(x^3), x)", "3x^2/cosh(x^3)^2", "correct"),
    ("diff(tanh(x^3), x)", "12x^2/(e^(x^3)+e^(-x^3))^2", "correct"),
    ("diff(tanh(x^3), x)", "\\frac{12x^2}{\\left(e^{x^3}+e^{-x^3}\\right)^2}", "correct"),
    ("diff(tanh(x^3), x)", "3x^2/cosh(x^3)", "incorrect"),
    ("diff(tanh(x^3), x)", "3x^2/cosh(x^3)^2 + 1e-9", "incorrect"),
    ("diff(tanh(x^2), x)", "8x/(e^(x^2)+e^(-x^2))^2", "correct"),
    ("diff(softplus(x^3), x)", "3x^2 e^(x^3)/(1 + e^(x^3))", "correct"),
    ("diff(softplus(x^3), x)", "3x^2/(1 + e^(-x^3))", "correct"),
    ("diff(softplus(x^3), x)", "3x^2 e^(x^3)/(2 + e^(x^3))", "incorrect"),
    ("softplus(x^2)", "log(1 + e^(x^2))", "correct"),
    ("softplus(x^2)", "ln(e^(x^2) + 1)", "correct"),
    ("softplus(x^2)", "log(2 + e^(x^2))", "incorrect"),
    ("diff(sigmoid(x^3), x)", "3x^2 e^(-x^3)/(1 + e^(-x^3))^2", "correct"),
    ("diff(sigmoid(x^3), x)", "3x^2 e^(x^3)/(1 + e^(x^3))^2", "correct"),
    ("diff(sigmoid(x^3), x)", "3x^2/(e^(x^3) + 2 + e^(-x^3))", "correct"),
    ("diff(sigmoid(x^3), x)", "3x^2/(e^(x^3) + 1 + e^(-x^3))", "incorrect"),
    ("sinh(x^2)/cosh(x^2)", "tanh(x^2)", "correct"),
    ("cosh(x^3)", "(e^(x^3) + e^(-x^3))/2", "correct"),
    ("cosh(x^3)", "e^(x^3)/2", "incorrect"),
    ("exp(x^3)*exp(-x^3)", "1", "correct"),
    ("log(cosh(x^3))", "x^3 + log(1 + e^(-2x^3)) - log(2)", "correct"),
]


@pytest.mark.parametrize(("key", "answer", "expected"), CASES)
def test_overflowing_forms_are_judged_on_their_values(key: str, answer: str, expected: str) -> None:
    assert verdict(one(f"variables: {{x: real}}\nanswer: {key}"), answer) == expected


def test_where_both_have_no_value_the_point_stays_out() -> None:
    problem = one("variables: {x: real}\nanswer: log(x) + e^(x^3)")
    assert verdict(problem, "2*log(sqrt(x)) + e^(x^3)") == "correct"
    assert verdict(one("variables: {x: real}\nanswer: log(x^2)"), "2*log(x)") == "incorrect"  # none for x < 0
