"""Keys: derivatives checked by finite differences, rendering that reads back, sympy built node by node."""

from __future__ import annotations

import math
import random
from fractions import Fraction
from pathlib import Path

import pytest
import sympy

from grader.expr import LimitError, parse, read_answer
from grader.expr.nodes import BinOp, Num
from grader.problemset.loader import load_problem_set_file
from grader.problemset.model import ExpressionProblem
from grader.symbolic.derivative import expand_diffs
from grader.symbolic.equivalence import Checker
from grader.symbolic.numeric import FLOAT, Program
from grader.symbolic.render import to_latex, to_plain
from grader.symbolic.space import REAL, Budget, Space
from grader.symbolic.to_sympy import to_sympy

ROOT = Path(__file__).resolve().parents[2]
SPACE = Space(variables={"x": REAL, "a": REAL, "b": REAL})
FUNCTIONS = [
    "sigmoid(a*x + b)", "tanh(x)^3", "relu(x - a)", "leaky_relu(x, a)", "elu(x, 0.5)", "softplus(a*x)",
    "exp(-x^2)", "log(1 + x^2)", "sqrt(1 + x^2)", "abs(x - b)", "max(x, a)", "min(x, a, b)", "huber(x - a, 2)",
    "hinge(a, x)", "sin(x)*cos(a)", "sinh(x)/cosh(x)", "sech(x)", "relu6(x)", "x^a", "2^x", "e^(a*x)",
    "Piecewise((x^2, x > a), (b*x, True))", "tanh(a*tanh(b*tanh(x)))",
]


@pytest.mark.parametrize("text", FUNCTIONS)
def test_derivatives_match_central_differences(text: str) -> None:
    f = parse(text, SPACE.symbols())
    d = expand_diffs(parse(f"diff({text}, x)", SPACE.symbols()), SPACE)
    program = Program(SPACE, FLOAT)
    fn, dn = program.compile(f).fn, program.compile(d).fn
    rng = random.Random(3)
    checked = 0
    for _ in range(60):
        point = {"x": rng.uniform(0.2, 2.5), "a": rng.uniform(0.3, 1.5), "b": rng.uniform(-1, 1)}
        h = 1e-6

        def at(x: float, point: dict[str, float] = point) -> float:
            return float(fn(program.bind({**point, "x": x})))

        try:
            numeric = (at(point["x"] + h) - at(point["x"] - h)) / (2 * h)
            exact = float(dn(program.bind(point)))
        except (ArithmeticError, ValueError):
            continue
        kink = abs(at(point["x"] + 1e-3) - 2 * at(point["x"]) + at(point["x"] - 1e-3)) > 1e-2
        if kink:
            continue
        assert math.isclose(numeric, exact, rel_tol=1e-4, abs_tol=1e-6), (point, numeric, exact)
        checked += 1
    assert checked >= 20


def test_kink_conventions_follow_pytorch() -> None:
    program = Program(SPACE, FLOAT)
    for text, at_zero in (("relu(x)", 0.0), ("abs(x)", 0.0), ("leaky_relu(x, 0.1)", 0.1), ("elu(x, 0.5)", 0.5),
                          ("relu6(x)", 0.0), ("max(x, 0)", 0.5)):
        d = expand_diffs(parse(f"diff({text}, x)", SPACE.symbols()), SPACE)
        assert float(program.compile(d).fn(program.bind({"x": 0.0, "a": 1.0, "b": 0.0}))) == at_zero, text


def expression_problems() -> list[ExpressionProblem]:
    out = []
    for name in ("activation-derivatives", "loss-derivatives", "softmax"):
        for p in load_problem_set_file(ROOT / "problems" / f"{name}.yaml").problems:
            assert isinstance(p, ExpressionProblem)
            out.append(p)
    return out


@pytest.mark.parametrize("problem", expression_problems(), ids=lambda p: p.id)
def test_keys_read_back_in_both_forms(problem: ExpressionProblem) -> None:
    assert problem.space is not None and problem.answer is not None
    checker = problem.checker
    assert isinstance(checker, Checker)
    symbols = problem.space.symbols()
    for shown in (problem.answer, problem.display):
        if shown is None:
            continue
        for text in (to_plain(shown), to_latex(shown)):
            tree = read_answer(text, symbols, indices=problem.space.indices)
            assert checker.judge(tree, Budget(5)).verdict == "equal", text


@pytest.mark.parametrize("text", ["sigmoid(x)*(1 - sigmoid(x))", "1 - tanh(x)^2", "huber(x - a, 2)",
                                  "Piecewise((x, x > a), (b, True))", "leaky_relu(x, a) + relu6(x)"])
def test_sympy_conversion_computes_the_same_values(text: str) -> None:
    tree = parse(text, SPACE.symbols())
    converted = to_sympy(tree, SPACE)
    program = Program(SPACE, FLOAT)
    fn = program.compile(tree).fn
    for x in (-2.5, -0.3, 0.7, 3.1):
        point = {"x": x, "a": 0.4, "b": -1.2}
        mine = float(fn(program.bind(point)))
        theirs = float(converted.subs({sympy.Symbol(k, real=True): v for k, v in point.items()}).evalf())
        assert math.isclose(mine, theirs, rel_tol=1e-12, abs_tol=1e-12)


def test_sympy_conversion_keeps_the_limits() -> None:
    nine = Num(Fraction(9))
    with pytest.raises(LimitError):
        to_sympy(BinOp("^", nine, BinOp("^", nine, BinOp("^", nine, nine))))
    with pytest.raises(LimitError):
        to_sympy(BinOp("^", parse("x", {"x"}), Num(Fraction(10**6))))
    with pytest.raises(LimitError):
        to_sympy(parse("sum(k, k, 1, 10^9)"))
