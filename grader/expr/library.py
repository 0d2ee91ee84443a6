"""The function library: names, arities, values and partial derivatives.

Kinks follow PyTorch: ``relu'(0) = 0``, ``abs'(0) = 0``, ``leaky_relu'(0) = alpha``,
``elu'(0) = alpha``, ``hinge`` takes the ``relu`` side (0) at its kink, ``max``/``min`` split the
gradient evenly between tied arguments, ``Heaviside(0) = 1/2`` unless a second argument says
otherwise. See ``docs/functions.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Partials = Callable[[Sequence[float], float], tuple[float, ...]]


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    min_args: int
    max_args: int | None  # None: variadic
    value: Callable[..., float] | None  # None: symbolic only (diff)
    partials: Partials | None
    defaults: tuple[float, ...] = ()  # values of trailing optional arguments
    activation: bool = False  # an elementwise activation: mistakes about its derivative apply
    derivative_of_input: Callable[[float], float] | None = None  # f'(x), for "f' taken at f(z)"
    aliases: tuple[str, ...] = field(default=())
    summary: str = ""


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    ex = math.exp(x)
    return ex / (1.0 + ex)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _sign(x: float) -> float:
    return float((x > 0) - (x < 0))


def _relu(x: float) -> float:
    return x if x > 0 else 0.0


def _leaky(x: float, a: float) -> float:
    return x if x > 0 else a * x


def _elu(x: float, a: float) -> float:
    return x if x > 0 else a * math.expm1(x)


def _huber(r: float, d: float) -> float:
    return 0.5 * r * r if abs(r) <= d else d * (abs(r) - 0.5 * d)


def _hinge(y: float, s: float) -> float:
    return max(0.0, 1.0 - y * s)


def _heaviside(x: float, h0: float) -> float:
    return 1.0 if x > 0 else (0.0 if x < 0 else h0)


def _softmax(zj: float, *zs: float) -> float:
    m = max(zs)
    return math.exp(zj - m) / math.fsum(math.exp(z - m) for z in zs)


def _softmax_partials(args: Sequence[float], out: float) -> tuple[float, ...]:
    # d/d(first argument) carries the delta term; the list positions carry -a_j * a_k.
    zs = args[1:]
    return (out, *(-out * _softmax(z, *zs) for z in zs))


def _extreme_partials(args: Sequence[float], out: float) -> tuple[float, ...]:
    ties = sum(1 for a in args if a == out)
    return tuple((1.0 / ties) if a == out else 0.0 for a in args)


def _sech(x: float) -> float:
    return 1.0 / math.cosh(x) if abs(x) < 710 else 0.0


def _relu6(x: float) -> float:
    return min(max(x, 0.0), 6.0)


def _log(x: float, base: float | None = None) -> float:
    if base is None:
        return math.log(x)
    if base <= 0 or base == 1:
        raise ValueError("a logarithm's base must be positive and not 1")
    return math.log(x) / math.log(base)


def _log_partials(a: Sequence[float], o: float) -> tuple[float, ...]:
    if len(a) == 1:
        return (1.0 / a[0],)
    x, b = a
    return (1.0 / (x * math.log(b)), -o / (b * math.log(b)))


MAX_EXACT_BINOMIAL = 10_000  # above this n, binomials of whole numbers are taken through lgamma


def factorial_value(x: float) -> float:
    """``x!`` = Gamma(x + 1): exact for whole numbers, the smooth extension between them."""
    if x == int(x):
        if x < 0:
            raise ValueError("the factorial of a negative whole number is undefined")
        if x > 170:
            raise OverflowError("the factorial is too large for a float")
        return float(math.factorial(int(x)))
    return math.gamma(x + 1)


def binomial_value(n: float, k: float) -> float:
    """``binomial(n, k)`` = n!/(k!(n-k)!), 0 outside 0 <= k <= n for whole numbers (as in combinatorics)."""
    if n == int(n) and k == int(k):
        if k < 0:
            return 0.0
        if n < 0:  # binomial(-m, k) = (-1)^k binomial(m + k - 1, k)
            return (1.0 if k % 2 == 0 else -1.0) * binomial_value(-n + k - 1, k)
        if k > n:
            return 0.0
        if n <= MAX_EXACT_BINOMIAL:
            return float(math.comb(int(n), int(k)))
        small = min(k, n - k)
        if small <= 1000:  # a short product is exact to rounding; lgamma is not
            out = 1.0
            for i in range(1, int(small) + 1):
                out = out * (n - small + i) / i
            return out
        return math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1))
    return math.gamma(n + 1) / (math.gamma(k + 1) * math.gamma(n - k + 1))


def _sec(x: float) -> float:
    return 1.0 / math.cos(x)


def _csc(x: float) -> float:
    return 1.0 / math.sin(x)


def _cot(x: float) -> float:
    return math.cos(x) / math.sin(x)


def _sigmoid_d(x: float) -> float:
    s = _sigmoid(x)
    return s * (1.0 - s)


def _tanh_d(x: float) -> float:
    t = math.tanh(x)
    return 1.0 - t * t


_FUNCTIONS: tuple[Function, ...] = (
    Function("sigmoid", 1, 1, _sigmoid, lambda a, o: (o * (1.0 - o),), activation=True,
             derivative_of_input=_sigmoid_d, aliases=("sigma", "σ", "logistic", "sig"),
             summary="1/(1 + exp(-x))"),
    Function("tanh", 1, 1, math.tanh, lambda a, o: (1.0 - o * o,), activation=True,
             derivative_of_input=_tanh_d, summary="hyperbolic tangent"),
    Function("relu", 1, 1, _relu, lambda a, o: (1.0 if a[0] > 0 else 0.0,), activation=True,
             derivative_of_input=lambda x: 1.0 if x > 0 else 0.0, summary="max(0, x); relu'(0) = 0"),
    Function("leaky_relu", 1, 2, _leaky,
             lambda a, o: (1.0 if a[0] > 0 else a[1], 0.0 if a[0] > 0 else a[0]),
             defaults=(0.01,), activation=True, aliases=("lrelu", "leakyrelu"),
             summary="x if x > 0 else alpha*x (alpha defaults to 0.01)"),
    Function("prelu", 2, 2, _leaky,
             lambda a, o: (1.0 if a[0] > 0 else a[1], 0.0 if a[0] > 0 else a[0]),
             activation=True, summary="leaky ReLU whose slope is a trainable parameter"),
    Function("elu", 1, 2, _elu,
             lambda a, o: (1.0 if a[0] > 0 else a[1] * math.exp(a[0]),
                           0.0 if a[0] > 0 else math.expm1(a[0])),
             defaults=(1.0,), activation=True,
             summary="x if x > 0 else alpha*(exp(x) - 1) (alpha defaults to 1)"),
    Function("softplus", 1, 1, _softplus, lambda a, o: (_sigmoid(a[0]),), activation=True,
             derivative_of_input=_sigmoid, summary="log(1 + exp(x))"),
    Function("softmax", 2, None, _softmax, _softmax_partials,
             summary="softmax(z_j, z_1, ..., z_n): component j of the softmax of z_1..z_n"),
    Function("exp", 1, 1, math.exp, lambda a, o: (o,), summary="e^x"),
    Function("log", 1, 2, _log, _log_partials, aliases=("ln",),
             summary="natural logarithm; log(x, b) to the base b"),
    Function("sqrt", 1, 1, math.sqrt, lambda a, o: (0.5 / o,), aliases=("√",)),
    Function("abs", 1, 1, abs, lambda a, o: (_sign(a[0]),), summary="|x|; abs'(0) = 0"),
    Function("sign", 1, 1, _sign, lambda a, o: (0.0,), aliases=("sgn",)),
    Function("max", 2, None, max, _extreme_partials, summary="ties split the gradient evenly"),
    Function("min", 2, None, min, _extreme_partials, summary="ties split the gradient evenly"),
    Function("huber", 1, 2, _huber,
             lambda a, o: (a[0] if abs(a[0]) <= a[1] else a[1] * _sign(a[0]),
                           0.0 if abs(a[0]) <= a[1] else abs(a[0]) - a[1]),
             defaults=(1.0,), summary="r^2/2 where |r| <= delta, else delta*(|r| - delta/2)"),
    Function("hinge", 2, 2, _hinge,
             lambda a, o: ((-a[1], -a[0]) if 1.0 - a[0] * a[1] > 0 else (0.0, 0.0)),
             summary="max(0, 1 - y*s); 0 gradient at the kink"),
    Function("Heaviside", 1, 2, _heaviside, lambda a, o: (0.0, 0.0), defaults=(0.5,),
             aliases=("step",), summary="unit step, 1/2 at 0 by default"),
    Function("KroneckerDelta", 2, 2, lambda i, j: 1.0 if i == j else 0.0, lambda a, o: (0.0, 0.0),
             aliases=("kronecker",), summary="1 if i == j else 0"),
    Function("sin", 1, 1, math.sin, lambda a, o: (math.cos(a[0]),)),
    Function("cos", 1, 1, math.cos, lambda a, o: (-math.sin(a[0]),)),
    Function("sinh", 1, 1, math.sinh, lambda a, o: (math.cosh(a[0]),)),
    Function("cosh", 1, 1, math.cosh, lambda a, o: (math.sinh(a[0]),)),
    Function("sech", 1, 1, _sech, lambda a, o: (-o * math.tanh(a[0]),), summary="1/cosh(x)"),
    Function("tan", 1, 1, math.tan, lambda a, o: (1.0 + o * o,)),
    Function("sec", 1, 1, _sec, lambda a, o: (o * math.tan(a[0]),), summary="1/cos(x)"),
    Function("csc", 1, 1, _csc, lambda a, o: (-o / math.tan(a[0]),), aliases=("cosec",), summary="1/sin(x)"),
    Function("cot", 1, 1, _cot, lambda a, o: (-1.0 - o * o,), summary="cos(x)/sin(x)"),
    Function("asin", 1, 1, math.asin, lambda a, o: (1.0 / math.sqrt(1.0 - a[0] * a[0]),), aliases=("arcsin",)),
    Function("acos", 1, 1, math.acos, lambda a, o: (-1.0 / math.sqrt(1.0 - a[0] * a[0]),), aliases=("arccos",)),
    Function("atan", 1, 1, math.atan, lambda a, o: (1.0 / (1.0 + a[0] * a[0]),), aliases=("arctan",)),
    Function("asinh", 1, 1, math.asinh, lambda a, o: (1.0 / math.sqrt(a[0] * a[0] + 1.0),),
             aliases=("arcsinh", "arsinh")),
    Function("acosh", 1, 1, math.acosh, lambda a, o: (1.0 / math.sqrt(a[0] * a[0] - 1.0),),
             aliases=("arccosh", "arcosh")),
    Function("atanh", 1, 1, math.atanh, lambda a, o: (1.0 / (1.0 - a[0] * a[0]),), aliases=("arctanh", "artanh")),
    Function("factorial", 1, 1, factorial_value, None, aliases=("fact",),
             summary="x! (Gamma(x + 1) between whole numbers); written n! too"),
    Function("binomial", 2, 2, binomial_value, None, aliases=("binom", "choose"),
             summary="n!/(k!(n-k)!); 0 for whole k outside [0, n]"),
    Function("relu6", 1, 1, _relu6, lambda a, o: (1.0 if 0 < a[0] < 6 else 0.0,), activation=True,
             derivative_of_input=lambda x: 1.0 if 0 < x < 6 else 0.0,
             summary="min(max(0, x), 6); 0 gradient at both kinks"),
    Function("diff", 2, None, None, None, summary="derivative; only in an expression problem's answer"),
)

FUNCTIONS: dict[str, Function] = {f.name: f for f in _FUNCTIONS}
_LOOKUP: dict[str, Function] = {}
for _f in _FUNCTIONS:
    for _name in (_f.name, *_f.aliases):
        _LOOKUP[_name.lower()] = _f

#: Names that mean a constant unless a problem declares a symbol of that name.
CONSTANTS: dict[str, float] = {"e": math.e, "pi": math.pi, "π": math.pi}


def lookup(name: str) -> Function | None:
    """Find a function by its name or an alias, ignoring case (students write ReLU, Tanh, Sigma)."""
    return _LOOKUP.get(name.lower())


def known_names() -> list[str]:
    return sorted(_LOOKUP)
