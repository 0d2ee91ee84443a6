"""The function library: every partial derivative against central finite differences, and the kinks.

Away from kinks each ``partials`` rule must agree with a central difference of ``value`` in every
argument (including the optional ones: alpha, delta, h0). At a kink the rule must give the documented
convention of the library's docstring and docs/functions.md (PyTorch's).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import pytest

from grader.expr import library
from grader.expr.library import FUNCTIONS, Function

XS = (-2.7, -1.3, -0.45, -0.05, 0.07, 0.6, 1.9, 3.2)
POSITIVE = (0.05, 0.3, 1.0, 2.5, 7.0)


def full_args(f: Function, args: Sequence[float]) -> list[float]:
    """The arguments as the solver passes them: trailing optional ones filled with their defaults."""
    return [*args, *f.defaults[len(args) - f.min_args:]]


def central_difference(f: Function, args: Sequence[float], i: int) -> float:
    assert f.value is not None
    h = 1e-6 * max(1.0, abs(args[i]))
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    return (f.value(*up) - f.value(*down)) / (2 * h)


def partials_at(f: Function, args: Sequence[float]) -> tuple[float, ...]:
    assert f.value is not None and f.partials is not None
    return f.partials(args, f.value(*args))


# (function, argument tuples): points away from every kink of the function.
GRID: list[tuple[str, tuple[float, ...]]] = [
    *(("sigmoid", (x,)) for x in (*XS, -30.0, 25.0)),
    *(("tanh", (x,)) for x in XS),
    *(("relu", (x,)) for x in XS),
    *(("leaky_relu", (x,)) for x in XS),
    *(("leaky_relu", (x, a)) for x, a in itertools.product(XS, (0.01, 0.2, 1.7))),
    *(("prelu", (x, a)) for x, a in itertools.product(XS, (0.1, 0.25, -0.3))),
    *(("elu", (x,)) for x in XS),
    *(("elu", (x, a)) for x, a in itertools.product(XS, (0.5, 1.0, 2.0))),
    *(("softplus", (x,)) for x in (*XS, -20.0, 20.0)),
    *(("softmax", (zs[j], *zs)) for zs in ((0.2, -1.1), (1.5, 0.3, -0.7), (-2.0, 0.0, 2.0, 0.5))
      for j in range(len(zs))),
    *(("softmax", (0.9, 0.2, -0.4)),),  # a first argument that is not one of the listed logits
    *(("exp", (x,)) for x in XS),
    *(("log", (x,)) for x in POSITIVE),
    *(("sqrt", (x,)) for x in POSITIVE),
    *(("abs", (x,)) for x in XS),
    *(("sign", (x,)) for x in XS),
    *(("max", args) for args in ((0.3, -1.2), (-0.4, 2.5), (1.0, 3.0, -2.0), (-5.0, -1.5, -3.0))),
    *(("min", args) for args in ((0.3, -1.2), (-0.4, 2.5), (1.0, 3.0, -2.0), (-5.0, -1.5, -3.0))),
    *(("huber", (r,)) for r in XS),
    *(("huber", (r, d)) for r, d in itertools.product(XS, (0.5, 1.0, 2.0)) if abs(abs(r) - d) > 1e-3),
    *(("hinge", (y, s)) for y, s in itertools.product((-1.0, 1.0, 0.5), XS) if abs(1 - y * s) > 1e-3),
    *(("Heaviside", (x,)) for x in XS),
    *(("Heaviside", (x, h0)) for x, h0 in itertools.product(XS, (0.0, 1.0))),
    *(("KroneckerDelta", ij) for ij in ((0.3, 1.7), (2.0, -1.0), (1.0, 2.0))),
    *(("sin", (x,)) for x in XS),
    *(("cos", (x,)) for x in XS),
    *(("sinh", (x,)) for x in XS),
    *(("cosh", (x,)) for x in XS),
    *(("sech", (x,)) for x in XS),
    *(("relu6", (x,)) for x in (*XS, 5.5, 6.5, 7.2)),
    *(("log", (x, b)) for x, b in itertools.product(POSITIVE, (2.0, 10.0, 0.5))),
    *(("tan", (x,)) for x in (-1.3, -0.45, 0.07, 0.6, 1.2)),
    *(("sec", (x,)) for x in (-1.3, -0.45, 0.07, 0.6, 1.2)),
    *(("csc", (x,)) for x in (-2.7, -1.3, -0.45, 0.6, 1.9)),
    *(("cot", (x,)) for x in (-2.7, -1.3, -0.45, 0.6, 1.9)),
    *((f, (x,)) for f in ("asin", "acos", "atanh") for x in (-0.9, -0.45, -0.05, 0.07, 0.6, 0.95)),
    *((f, (x,)) for f in ("atan", "asinh") for x in XS),
    *(("acosh", (x,)) for x in (1.05, 1.5, 3.2, 10.0)),
]


def test_the_grid_covers_every_numeric_function() -> None:
    numeric = {name for name, f in FUNCTIONS.items() if f.value is not None and f.partials is not None}
    assert numeric <= {name for name, _ in GRID}


@pytest.mark.parametrize(("name", "args", "value"), [
    ("factorial", (0.0,), 1.0), ("factorial", (5.0,), 120.0), ("factorial", (0.5,), math.sqrt(math.pi) / 2),
    ("factorial", (170.0,), float(math.factorial(170))),
    ("binomial", (5.0, 2.0), 10.0), ("binomial", (5.0, 7.0), 0.0), ("binomial", (5.0, -1.0), 0.0),
    ("binomial", (-3.0, 2.0), 6.0), ("binomial", (2.5, 1.0), 2.5), ("binomial", (20000.0, 2.0), 199990000.0),
    ("log", (8.0, 2.0), 3.0), ("log", (1000.0, 10.0), 3.0), ("asin", (1.0,), math.pi / 2), ("cot", (math.pi / 4,), 1.0),
])
def test_values_of_functions_without_a_derivative_rule_and_at_exact_points(
        name: str, args: tuple[float, ...], value: float) -> None:
    f = FUNCTIONS[name]
    assert f.value is not None
    assert f.value(*args) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(("name", "args"), [
    ("factorial", (-1.0,)), ("factorial", (171.0,)), ("log", (2.0, 1.0)), ("log", (2.0, -2.0)), ("asin", (1.5,)),
    ("acosh", (0.5,)), ("atanh", (1.0,)),
])
def test_values_outside_the_domain_are_errors(name: str, args: tuple[float, ...]) -> None:
    f = FUNCTIONS[name]
    assert f.value is not None
    with pytest.raises((ValueError, OverflowError)):
        f.value(*args)


def function(name: str) -> Function:
    if name not in FUNCTIONS:
        pytest.skip(f"{name} is not in this version of the library")
    return FUNCTIONS[name]


@pytest.mark.parametrize(("name", "args"), GRID, ids=[f"{n}{a}" for n, a in GRID])
def test_partials_match_central_differences(name: str, args: tuple[float, ...]) -> None:
    f = function(name)
    full = full_args(f, args)
    got = partials_at(f, full)
    assert len(got) == len(full)
    for i, d in enumerate(got):
        assert d == pytest.approx(central_difference(f, full, i), rel=1e-5, abs=1e-7), f"argument {i}"


@pytest.mark.parametrize("zs", [(0.2, -1.1), (1.5, 0.3, -0.7), (-2.0, 0.0, 2.0, 0.5), (10.0, 10.0, -3.0)])
def test_softmax_jacobian_when_the_component_is_one_of_the_logits(zs: tuple[float, ...]) -> None:
    """softmax(z_j, z_1..z_n) with z_j = z_j: summing its partials gives s_j*(delta_jk - s_k)."""
    f = FUNCTIONS["softmax"]
    s = [math.exp(z) / sum(math.exp(w) for w in zs) for z in zs]
    for j in range(len(zs)):
        args = (zs[j], *zs)
        assert f.value is not None
        assert f.value(*args) == pytest.approx(s[j], rel=1e-12)
        local = partials_at(f, args)
        for k in range(len(zs)):
            total = local[1 + k] + (local[0] if k == j else 0.0)
            assert total == pytest.approx(s[j] * ((j == k) - s[k]), rel=1e-9, abs=1e-12)


def test_softmax_is_stable_for_large_logits() -> None:
    f = FUNCTIONS["softmax"]
    assert f.value is not None
    assert f.value(800.0, 800.0, 800.0) == pytest.approx(0.5)
    assert f.value(800.0, 800.0, 0.0) == pytest.approx(1.0)
    assert f.value(-800.0, -800.0, -801.0) == pytest.approx(1 / (1 + math.exp(-1)))


# (function, arguments, value, partials): the documented conventions at the kinks.
KINKS: list[tuple[str, tuple[float, ...], float, tuple[float, ...]]] = [
    ("relu", (0.0,), 0.0, (0.0,)),
    ("abs", (0.0,), 0.0, (0.0,)),
    ("sign", (0.0,), 0.0, (0.0,)),
    ("leaky_relu", (0.0,), 0.0, (0.01, 0.0)),
    ("leaky_relu", (0.0, 0.2), 0.0, (0.2, 0.0)),
    ("prelu", (0.0, 0.25), 0.0, (0.25, 0.0)),
    ("elu", (0.0,), 0.0, (1.0, 0.0)),
    ("elu", (0.0, 0.5), 0.0, (0.5, 0.0)),
    ("hinge", (1.0, 1.0), 0.0, (0.0, 0.0)),
    ("hinge", (-2.0, -0.5), 0.0, (0.0, 0.0)),
    ("hinge", (0.5, 2.0), 0.0, (0.0, 0.0)),
    ("max", (2.0, 2.0), 2.0, (0.5, 0.5)),
    ("max", (0.0, 0.0), 0.0, (0.5, 0.5)),
    ("max", (1.0, 3.0, 3.0), 3.0, (0.0, 0.5, 0.5)),
    ("max", (4.0, 4.0, 4.0), 4.0, (1 / 3, 1 / 3, 1 / 3)),
    ("min", (-1.0, -1.0, 4.0), -1.0, (0.5, 0.5, 0.0)),
    ("min", (2.0, 2.0), 2.0, (0.5, 0.5)),
    ("Heaviside", (0.0,), 0.5, (0.0, 0.0)),
    ("Heaviside", (0.0, 1.0), 1.0, (0.0, 0.0)),
    ("Heaviside", (0.0, 0.0), 0.0, (0.0, 0.0)),
    ("KroneckerDelta", (2.0, 2.0), 1.0, (0.0, 0.0)),
    ("relu6", (0.0,), 0.0, (0.0,)),
    ("relu6", (6.0,), 6.0, (0.0,)),
]


@pytest.mark.parametrize(("name", "args", "value", "expected"), KINKS, ids=[f"{k[0]}{k[1]}" for k in KINKS])
def test_kink_conventions(name: str, args: tuple[float, ...], value: float, expected: tuple[float, ...]) -> None:
    f = function(name)
    full = full_args(f, args)
    assert f.value is not None
    assert f.value(*full) == value
    assert partials_at(f, full) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("delta", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("side", [1.0, -1.0])
def test_huber_is_continuous_with_a_continuous_derivative_at_its_kink(delta: float, side: float) -> None:
    f = FUNCTIONS["huber"]
    assert f.value is not None
    r = side * delta
    eps = 1e-7
    assert f.value(r, delta) == pytest.approx(delta * delta / 2)
    assert f.value(r - eps, delta) == pytest.approx(f.value(r + eps, delta), abs=1e-6)
    at = partials_at(f, (r, delta))
    assert at == pytest.approx((side * delta, 0.0))
    for near in (r - 1e-9, r + 1e-9):
        assert partials_at(f, (near, delta)) == pytest.approx(at, abs=1e-8)


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "prelu", "hinge", "relu"])
def test_one_sided_derivatives_bracket_the_kink_convention(name: str) -> None:
    """The convention at a kink is one of the one-sided derivatives (relu's side for relu-like kinks)."""
    f = FUNCTIONS[name]
    args = {"leaky_relu": (0.0, 0.2), "elu": (0.0, 0.5), "prelu": (0.0, 0.3), "hinge": (1.0, 1.0),
            "relu": (0.0,)}[name]
    i = 1 if name == "hinge" else 0  # hinge: the kink in s at y*s = 1
    left, right = list(args), list(args)
    left[i] -= 1e-6
    right[i] += 1e-6
    at = partials_at(f, args)[i]
    assert at in (pytest.approx(partials_at(f, left)[i], abs=1e-5), pytest.approx(partials_at(f, right)[i], abs=1e-5))


@pytest.mark.parametrize("name", [n for n, f in FUNCTIONS.items() if f.derivative_of_input is not None])
@pytest.mark.parametrize("x", [-2.3, -0.4, 0.3, 1.7])
def test_derivative_of_input_is_the_derivative(name: str, x: float) -> None:
    """``derivative_of_input`` (f' as a function of the input, used by the mistake search) is f'."""
    f = FUNCTIONS[name]
    assert f.derivative_of_input is not None
    assert f.derivative_of_input(x) == pytest.approx(central_difference(f, [x], 0), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(("alias", "name"), [
    ("sigma", "sigmoid"), ("σ", "sigmoid"), ("Sigmoid", "sigmoid"), ("logistic", "sigmoid"), ("ReLU", "relu"),
    ("Tanh", "tanh"), ("ln", "log"), ("lrelu", "leaky_relu"), ("sgn", "sign"), ("step", "Heaviside"),
    ("kronecker", "KroneckerDelta"), ("√", "sqrt"),
])
def test_aliases(alias: str, name: str) -> None:
    found = library.lookup(alias)
    assert found is not None and found.name == name


def test_unknown_name_is_not_a_function() -> None:
    assert library.lookup("sigmoidd") is None


@pytest.mark.parametrize(("name", "args", "value"), [
    ("sigmoid", (0.0,), 0.5), ("sigmoid", (-800.0,), 0.0), ("sigmoid", (800.0,), 1.0),
    ("softplus", (0.0,), math.log(2)), ("softplus", (800.0,), 800.0),
    ("leaky_relu", (-2.0,), -0.02), ("elu", (-1.0,), math.exp(-1) - 1), ("elu", (-1.0, 2.0), 2 * (math.exp(-1) - 1)),
    ("huber", (3.0,), 2.5), ("huber", (-3.0, 2.0), 4.0), ("huber", (0.5,), 0.125),
    ("hinge", (1.0, 0.25), 0.75), ("hinge", (-1.0, 0.25), 1.25), ("hinge", (1.0, 3.0), 0.0),
    ("max", (1.0, -2.0, 0.5), 1.0), ("min", (1.0, -2.0, 0.5), -2.0),
])
def test_values(name: str, args: tuple[float, ...], value: float) -> None:
    f = FUNCTIONS[name]
    assert f.value is not None
    assert f.value(*full_args(f, args)) == pytest.approx(value, rel=1e-12, abs=1e-300)
