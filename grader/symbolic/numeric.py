"""Evaluate expression trees at points, in floats (fast) or in mpmath (to confirm a mismatch).

A tree is compiled once into nested closures; evaluating it at a point walks no tree and parses no
text. While evaluating, the state records whether any non-smooth step was taken exactly at its kink
(``relu`` at 0, a ``Piecewise`` condition on its boundary) and, when asked, which branch every
non-smooth step took: the region a point lies in, used to say "correct except where x < 0".

Errors of arithmetic (``log`` of a negative, division by zero, overflow, no case applies) make the
formula *undefined* at that point; the caller catches them. Work is bounded: sums count their terms
against ``MAX_WORK`` per evaluation and test the check's deadline at every term (``TimeUp``), mpmath
refuses exponents that would need huge integers, and index values take part in arithmetic as the
backend's numbers, never as Python integers (``(i^1000)^1000`` would otherwise build a 3-million-bit
integer in one uninterruptible step).
"""

from __future__ import annotations

import math
import operator
import random
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import mpmath

from grader.expr import library
from grader.expr.nodes import BinOp, Call, Compare, Cond, Expr, Neg, Num, Piecewise, Sum, Sym, walk
from grader.expr.notation import split_derivative
from grader.symbolic.space import Space, TimeUp, current_deadline

MAX_WORK = 100_000  # sum terms per evaluation
DEADLINE_NODES = 64  # tree nodes evaluated, at most, between two tests of the deadline inside a sum
MP_MAX_EXP = 1e30  # |x| beyond which mpmath's exp is refused: e^x then has an exponent of 100 bits or more
# (mpmath's exponents are unbounded integers, so e^(10^9), which no float holds, costs what e^10 costs)
MP_MAX_BITS = 1e7  # |b*log2(a)| beyond which a**b is refused
MP_MAX_FACTORIAL = 1e7  # |x| beyond which mpmath's x! and binomial(n, k) are refused
#: how many random smooth functions stand in turn for each unknown function (``functions: {g: [w]}``)
UNKNOWN_CHOICES = 3
#: the name, in a point's values, of which of them stands for every unknown function there
CHOICE = "#choice"

#: the errors that mean "this formula has no value here"
ARITHMETIC = (ArithmeticError, ValueError, TypeError)


class Undefined(ArithmeticError):
    """No case of a piecewise expression applies, or an index is out of range."""


class WorkLimit(Exception):
    """An evaluation needed more than ``MAX_WORK`` sum terms."""


class State:
    """One evaluation: variable values, the kink flag and the branches taken."""

    __slots__ = ("deadline", "env", "kink", "trace", "work")

    def __init__(self, env: dict[str, Any], trace: bool = False) -> None:
        self.env = env
        self.kink = False
        self.trace: list[tuple[int, int]] | None = [] if trace else None
        self.work = 0
        self.deadline = current_deadline()  # of the check this evaluation belongs to


Fn = Callable[[State], Any]
CondFn = Callable[[State], bool]


# -- backends --------------------------------------------------------------------------------------
class FloatBackend:
    name = "float"
    tiny = 1e-12

    def __init__(self) -> None:
        self.e = math.e
        self.pi = math.pi

    def num(self, q: Fraction) -> Any:
        return float(q)

    def integer(self, k: int) -> Any:
        return float(k)

    def exp(self, x: Any) -> Any:
        return math.exp(x)

    def expm1(self, x: Any) -> Any:
        return math.expm1(x)

    def log(self, x: Any) -> Any:
        return math.log(x)

    def log1p(self, x: Any) -> Any:
        return math.log1p(x)

    def sqrt(self, x: Any) -> Any:
        return math.sqrt(x)

    def pow(self, a: Any, b: Any) -> Any:
        return math.pow(a, b)

    def tanh(self, x: Any) -> Any:
        return math.tanh(x)

    def sinh(self, x: Any) -> Any:
        return math.sinh(x)

    def cosh(self, x: Any) -> Any:
        return math.cosh(x)

    def sin(self, x: Any) -> Any:
        return math.sin(x)

    def cos(self, x: Any) -> Any:
        return math.cos(x)

    def tan(self, x: Any) -> Any:
        return math.tan(x)

    def asin(self, x: Any) -> Any:
        return math.asin(x)

    def acos(self, x: Any) -> Any:
        return math.acos(x)

    def atan(self, x: Any) -> Any:
        return math.atan(x)

    def asinh(self, x: Any) -> Any:
        return math.asinh(x)

    def acosh(self, x: Any) -> Any:
        return math.acosh(x)

    def atanh(self, x: Any) -> Any:
        return math.atanh(x)

    def factorial(self, x: Any) -> Any:
        return library.factorial_value(x)

    def binomial(self, n: Any, k: Any) -> Any:
        return library.binomial_value(n, k)

    def finite(self, x: Any) -> bool:
        return isinstance(x, float | int) and math.isfinite(x)


class MpBackend:
    """mpmath at ``dps`` digits, in a private context (mpmath's global one is shared by threads)."""

    name = "mp"

    def __init__(self, dps: int) -> None:
        self.ctx = mpmath.MPContext()
        self.ctx.dps = dps
        self.tiny = self.ctx.mpf(10) ** (-(dps - 8))
        self.e = self.ctx.e
        self.pi = self.ctx.pi

    def num(self, q: Fraction) -> Any:
        return self.ctx.mpf(q.numerator) / q.denominator

    def integer(self, k: int) -> Any:
        return self.ctx.mpf(k)

    def exp(self, x: Any) -> Any:
        if abs(x) > MP_MAX_EXP:
            raise OverflowError("exponent too large")
        return self.ctx.exp(x)

    def expm1(self, x: Any) -> Any:
        if abs(x) > MP_MAX_EXP:
            raise OverflowError("exponent too large")
        return self.ctx.expm1(x)

    def log(self, x: Any) -> Any:
        if x <= 0:
            raise ValueError("log of a non-positive number")
        return self.ctx.log(x)

    def log1p(self, x: Any) -> Any:
        if x <= -1:
            raise ValueError("log of a non-positive number")
        return self.ctx.log1p(x)

    def sqrt(self, x: Any) -> Any:
        if x < 0:
            raise ValueError("square root of a negative number")
        return self.ctx.sqrt(x)

    def pow(self, a: Any, b: Any) -> Any:
        if a == 0:
            if b < 0:
                raise ZeroDivisionError("0 to a negative power")
            return self.ctx.mpf(1) if b == 0 else self.ctx.mpf(0)
        if a < 0 and b != int(b):
            raise ValueError("a negative number to a fractional power")
        if abs(b * self.ctx.log(abs(a), 2)) > MP_MAX_BITS:
            raise OverflowError("power too large")
        return self.ctx.power(a, b)

    def tanh(self, x: Any) -> Any:
        return self.ctx.tanh(x)

    def sinh(self, x: Any) -> Any:
        if abs(x) > MP_MAX_EXP:
            raise OverflowError("exponent too large")
        return self.ctx.sinh(x)

    def cosh(self, x: Any) -> Any:
        if abs(x) > MP_MAX_EXP:
            raise OverflowError("exponent too large")
        return self.ctx.cosh(x)

    def sin(self, x: Any) -> Any:
        return self.ctx.sin(x)

    def cos(self, x: Any) -> Any:
        return self.ctx.cos(x)

    def tan(self, x: Any) -> Any:
        return self.ctx.tan(x)

    def asin(self, x: Any) -> Any:
        if abs(x) > 1:
            raise ValueError("asin of a number outside [-1, 1]")
        return self.ctx.asin(x)

    def acos(self, x: Any) -> Any:
        if abs(x) > 1:
            raise ValueError("acos of a number outside [-1, 1]")
        return self.ctx.acos(x)

    def atan(self, x: Any) -> Any:
        return self.ctx.atan(x)

    def asinh(self, x: Any) -> Any:
        return self.ctx.asinh(x)

    def acosh(self, x: Any) -> Any:
        if x < 1:
            raise ValueError("acosh of a number below 1")
        return self.ctx.acosh(x)

    def atanh(self, x: Any) -> Any:
        if abs(x) >= 1:
            raise ValueError("atanh of a number outside (-1, 1)")
        return self.ctx.atanh(x)

    def factorial(self, x: Any) -> Any:
        if abs(x) > MP_MAX_FACTORIAL:
            raise OverflowError("factorial too large")
        if x == int(x) and x < 0:
            raise ValueError("the factorial of a negative whole number is undefined")
        return self.ctx.gamma(x + 1)

    def binomial(self, n: Any, k: Any) -> Any:
        if abs(n) > MP_MAX_FACTORIAL or abs(k) > MP_MAX_FACTORIAL:
            raise OverflowError("binomial too large")
        return self.ctx.binomial(n, k)

    def finite(self, x: Any) -> bool:
        return isinstance(x, self.ctx.mpf) and bool(self.ctx.isfinite(x))


Backend = FloatBackend | MpBackend
FLOAT = FloatBackend()
_MP = threading.local()


def mp_backend(dps: int) -> MpBackend:
    """A per-thread mpmath backend at ``dps`` digits."""
    cache: dict[int, MpBackend] | None = getattr(_MP, "cache", None)
    if cache is None:
        cache = _MP.cache = {}
    if dps not in cache:
        cache[dps] = MpBackend(dps)
    return cache[dps]


# -- the function library ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Site:
    """A non-smooth step of a compiled formula: a Piecewise or a kinked function call."""

    node: Piecewise | Call
    kinkable: bool  # its argument varies continuously, so equality there is a kink


Impl = Callable[..., Any]  # (backend, state, site id, site, *args) -> value


def _mark(s: State, sid: int, branch: int) -> None:
    if s.trace is not None:
        s.trace.append((sid, branch))


def _kink(B: Backend, s: State, site: Site, a: Any, b: Any = 0) -> None:
    if site.kinkable and abs(a - b) <= B.tiny * (1 + abs(a) + abs(b)):
        s.kink = True


def _sigmoid(B: Backend, s: State, sid: int, site: Site, u: Any) -> Any:
    if u >= 0:
        return 1 / (1 + B.exp(-u))
    t = B.exp(u)
    return t / (1 + t)


def _relu(B: Backend, s: State, sid: int, site: Site, u: Any) -> Any:
    _kink(B, s, site, u)
    _mark(s, sid, int(u > 0))
    return u if u > 0 else 0 * u


def _leaky(B: Backend, s: State, sid: int, site: Site, u: Any, a: Any) -> Any:
    _kink(B, s, site, u)
    _mark(s, sid, int(u > 0))
    return u if u > 0 else a * u


def _elu(B: Backend, s: State, sid: int, site: Site, u: Any, a: Any) -> Any:
    _kink(B, s, site, u)
    _mark(s, sid, int(u > 0))
    return u if u > 0 else a * B.expm1(u)


def _relu6(B: Backend, s: State, sid: int, site: Site, u: Any) -> Any:
    _kink(B, s, site, u)
    _kink(B, s, site, u, 6)
    branch = 0 if u <= 0 else (1 if u < 6 else 2)
    _mark(s, sid, branch)
    return 0 * u if branch == 0 else (u if branch == 1 else 6 + 0 * u)


def _softplus(B: Backend, s: State, sid: int, site: Site, u: Any) -> Any:
    return (u if u > 0 else 0 * u) + B.log1p(B.exp(-abs(u)))


def _abs(B: Backend, s: State, sid: int, site: Site, u: Any) -> Any:
    _kink(B, s, site, u)
    _mark(s, sid, int(u >= 0))
    return abs(u)


def _sign(B: Backend, s: State, sid: int, site: Site, u: Any) -> Any:
    _kink(B, s, site, u)
    branch = (u > 0) - (u < 0)
    _mark(s, sid, branch + 1)
    return 0 * u + branch


def _heaviside(B: Backend, s: State, sid: int, site: Site, u: Any, h0: Any) -> Any:
    _kink(B, s, site, u)
    branch = (u > 0) - (u < 0)
    _mark(s, sid, branch + 1)
    return h0 if branch == 0 else 0 * u + (1 if branch > 0 else 0)


def _extreme(pick: Callable[..., Any]) -> Impl:
    def impl(B: Backend, s: State, sid: int, site: Site, *args: Any) -> Any:
        best = pick(args)
        index = args.index(best)
        for k, a in enumerate(args):
            if k != index:
                _kink(B, s, site, a, best)
        _mark(s, sid, index)
        return best

    return impl


def _huber(B: Backend, s: State, sid: int, site: Site, r: Any, d: Any) -> Any:
    _kink(B, s, site, abs(r), d)
    inside = abs(r) <= d
    _mark(s, sid, int(inside))
    return r * r / 2 if inside else d * (abs(r) - d / 2)


def _hinge(B: Backend, s: State, sid: int, site: Site, y: Any, t: Any) -> Any:
    v = 1 - y * t
    _kink(B, s, site, v)
    _mark(s, sid, int(v > 0))
    return v if v > 0 else 0 * v


def _kronecker(B: Backend, s: State, sid: int, site: Site, i: Any, j: Any) -> Any:
    return 1 if i == j else 0


def _smooth(name: str) -> Impl:
    def impl(B: Backend, s: State, sid: int, site: Site, u: Any) -> Any:
        return getattr(B, name)(u)

    return impl


def _sech(B: Backend, s: State, sid: int, site: Site, u: Any) -> Any:
    return 1 / B.cosh(u)


def _sec(B: Backend, s: State, sid: int, site: Site, u: Any) -> Any:
    return 1 / B.cos(u)


def _csc(B: Backend, s: State, sid: int, site: Site, u: Any) -> Any:
    return 1 / B.sin(u)


def _cot(B: Backend, s: State, sid: int, site: Site, u: Any) -> Any:
    return B.cos(u) / B.sin(u)


def _log(B: Backend, s: State, sid: int, site: Site, u: Any, base: Any = None) -> Any:
    if base is None:
        return B.log(u)
    if base <= 0 or base == 1:
        raise ValueError("a logarithm's base must be positive and not 1")
    return B.log(u) / B.log(base)


def _binomial(B: Backend, s: State, sid: int, site: Site, n: Any, k: Any) -> Any:
    return B.binomial(n, k)


IMPLS: dict[str, Impl] = {
    "sigmoid": _sigmoid, "tanh": _smooth("tanh"), "relu": _relu, "leaky_relu": _leaky, "prelu": _leaky,
    "elu": _elu, "softplus": _softplus, "exp": _smooth("exp"), "log": _log,
    "sqrt": _smooth("sqrt"), "abs": _abs, "sign": _sign, "max": _extreme(max), "min": _extreme(min),
    "huber": _huber, "hinge": _hinge, "Heaviside": _heaviside, "KroneckerDelta": _kronecker,
    "sin": _smooth("sin"), "cos": _smooth("cos"), "sinh": _smooth("sinh"), "cosh": _smooth("cosh"),
    "sech": _sech, "relu6": _relu6, "tan": _smooth("tan"), "sec": _sec, "csc": _csc, "cot": _cot,
    "asin": _smooth("asin"), "acos": _smooth("acos"), "atan": _smooth("atan"), "asinh": _smooth("asinh"),
    "acosh": _smooth("acosh"), "atanh": _smooth("atanh"), "factorial": _smooth("factorial"),
    "binomial": _binomial,
}
#: functions whose value has a kink or jump, i.e. that make regions
KINKED = {"relu", "leaky_relu", "prelu", "elu", "relu6", "abs", "sign", "max", "min", "huber", "hinge",
          "Heaviside"}
_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
    "!=": operator.ne,
}


def with_defaults(node: Call) -> tuple[Expr, ...]:
    """The call's arguments with the library's defaults filled in (``huber(r)`` is ``huber(r, 1)``)."""
    func = library.FUNCTIONS.get(node.func)
    if func is None:  # an unknown function of the problem, or one of its derivatives
        return node.args
    args = list(node.args)
    missing = func.min_args + len(func.defaults) - len(args)
    if missing > 0:
        args.extend(Num(Fraction(str(d))) for d in func.defaults[len(func.defaults) - missing:])
    return tuple(args)


# -- the compiler ------------------------------------------------------------------------------------
@dataclass
class Compiled:
    fn: Fn
    sites: dict[int, Site] = field(default_factory=dict)


class Program:
    """A problem's space compiled for one backend: binds points and compiles formulas."""

    def __init__(self, space: Space, backend: Backend) -> None:
        self.space = space
        self.B = backend
        self.real = _real_names(space)
        self._next = 0
        self._lock = threading.Lock()
        self.define_fns = [(name, self.compile(body).fn) for name, body in space.defines.items()]
        self.family_fns = [(fam, formal, self.compile(body).fn)
                           for fam, (formal, body) in space.family_defines.items()]

    def bind(self, values: Mapping[str, float | int], trace: bool = False) -> State:
        """A state at the point ``values`` (variables, family elements, indices), defines evaluated."""
        B = self.B
        env: dict[str, Any] = {}
        for name, v in values.items():
            if name in self.space.indices:
                env[name] = B.integer(int(v))
            else:
                env[name] = B.num(Fraction(v)) if B.name == "mp" else float(v)
        for index, limit in self.space.index_limits.items():
            if index in env and limit in env and env[index] > env[limit]:
                raise Undefined(f"{index} is beyond {limit} here")
        s = State(env, trace)
        # families first: a plain define may sum over a family (yhat: sum(v_n*z_n, n, 1, 2)), never the reverse
        for fam, formal, fn in self.family_fns:
            saved: dict[str, Any] = {k: env.get(k) for k in formal}
            for element in self.space.elements(fam):
                env.update(zip(formal, element, strict=True))
                env[self.space.element(fam, element)] = fn(s)
            for k, v in saved.items():
                if v is None:
                    env.pop(k, None)
                else:
                    env[k] = v
        for name, fn in self.define_fns:
            env[name] = fn(s)
        s.kink = False
        s.work = 0
        if s.trace is not None:
            s.trace.clear()
        return s

    def compile(self, node: Expr) -> Compiled:
        with self._lock:  # a checker is shared by the threads of a worker pool; site ids must stay unique
            out = Compiled(lambda s: 0)
            out.fn = self._expr(node, out.sites)
            return out

    def _site(self, sites: dict[int, Site], node: Piecewise | Call, args: tuple[Expr, ...]) -> tuple[int, Site]:
        self._next += 1
        site = Site(node, any(self._is_real(a) for a in args))
        sites[self._next] = site
        return self._next, site

    def _is_real(self, node: Expr | Cond) -> bool:
        return any(isinstance(n, Sym) and n.name in self.real for n in walk(node))

    def _expr(self, node: Expr, sites: dict[int, Site]) -> Fn:
        B = self.B
        match node:
            case Num(value=v):
                c = B.num(v)
                return lambda s: c
            case Sym(name=name):
                return self._symbol(name)
            case Neg(arg=a):
                fa = self._expr(a, sites)
                return lambda s: -fa(s)
            case BinOp(op=op, left=a, right=b):
                return self._binop(op, a, b, sites)
            case Call():
                return self._call(node, sites)
            case Piecewise(pieces=pieces):
                sid, _ = self._site(sites, node, tuple(c for _, c in pieces if c is not None))  # type: ignore[misc]
                compiled = [(self._expr(v, sites), None if c is None else self._cond(c, sites)) for v, c in pieces]

                def piecewise(s: State) -> Any:
                    for k, (value, cond) in enumerate(compiled):
                        if cond is None or cond(s):
                            if s.trace is not None:
                                s.trace.append((sid, k))
                            return value(s)
                    if s.trace is not None:
                        s.trace.append((sid, -1))
                    raise Undefined("no case applies")

                return piecewise
            case Sum(body=body, index=index, lo=lo, hi=hi):
                fb, flo, fhi = self._expr(body, sites), self._expr(lo, sites), self._expr(hi, sites)
                nodes = list(walk(body))
                # the index as a number of the backend only where arithmetic uses it (z_k only looks it up)
                as_number = B.integer if any(isinstance(n, Sym) and n.name == index for n in nodes) else None
                # test the deadline every term of a large body, every few terms of a small one (the test
                # costs about as much as evaluating a few nodes)
                every = max(1, DEADLINE_NODES // len(nodes))

                def summation(s: State) -> Any:
                    low, high = flo(s), fhi(s)
                    if low != int(low) or high != int(high):
                        raise Undefined("sum bounds must be whole numbers")
                    low, high = int(low), int(high)
                    s.work += max(0, high - low + 1)
                    if s.work > MAX_WORK:
                        raise WorkLimit(f"a sum needs more than {MAX_WORK} terms")
                    saved = s.env.get(index)
                    total: Any = 0 * B.num(Fraction(0))
                    deadline = s.deadline
                    for k in range(low, high + 1):
                        if k % every == 0 and time.monotonic() > deadline:
                            raise TimeUp("the check took longer than its time bound (inside a sum)")
                        s.env[index] = k if as_number is None else as_number(k)
                        total = total + fb(s)
                    if saved is None:
                        s.env.pop(index, None)
                    else:
                        s.env[index] = saved
                    return total

                return summation
        raise TypeError(f"not an expression node: {node!r}")

    def _symbol(self, name: str) -> Fn:
        space, B = self.space, self.B
        if name in library.CONSTANTS and name not in space.variables and name not in space.defines:
            c = B.e if name == "e" else B.pi
            return lambda s: c
        split = space.split(name)
        if split is None or name in space.variables or name in space.defines:
            def lookup(s: State) -> Any:
                try:
                    return s.env[name]
                except KeyError:
                    raise Undefined(f"{name} has no value") from None

            return lookup
        family, parts = split
        table = {e: space.element(family, e) for e in space.elements(family)}
        getters = [_constant_index(int(p)) if p.isdecimal() else _index_lookup(p) for p in parts]

        def indexed(s: State) -> Any:
            try:
                return s.env[table[tuple(g(s) for g in getters)]]
            except KeyError:
                raise Undefined(f"{name} is out of range or unbound") from None

        return indexed

    def _binop(self, op: str, a: Expr, b: Expr, sites: dict[int, Site]) -> Fn:
        B = self.B
        fa, fb = self._expr(a, sites), self._expr(b, sites)
        if op == "+":
            return lambda s: fa(s) + fb(s)
        if op == "-":
            return lambda s: fa(s) - fb(s)
        if op == "*":
            return lambda s: fa(s) * fb(s)
        if op == "/":
            return lambda s: fa(s) / fb(s)
        if isinstance(a, Sym) and a.name == "e" and "e" not in self.space.variables:
            return lambda s: B.exp(fb(s))
        if isinstance(b, Num) and b.value.denominator == 1:
            n = int(b.value)

            def integer_power(s: State) -> Any:
                base = fa(s)
                if base == 0 and n < 0:
                    raise ZeroDivisionError("0 to a negative power")
                return base ** n

            return integer_power
        return lambda s: B.pow(fa(s), fb(s))

    def _call(self, node: Call, sites: dict[int, Site]) -> Fn:
        base, by = split_derivative(node.func)
        if base in self.space.functions and node.func not in IMPLS:
            params = self.space.functions[base]
            if any(p not in params for p in by):
                raise ValueError(f"{node.func} is not a derivative of {base}")
            return self._unknown(base, tuple(params.index(p) for p in by), node, sites)
        if node.func not in IMPLS:
            raise ValueError(f"{node.func} cannot be evaluated")
        args = with_defaults(node)
        impl = IMPLS[node.func]
        B = self.B
        fns = [self._expr(a, sites) for a in args]
        sid, site = self._site(sites, node, args) if node.func in KINKED else (0, Site(node, False))
        if len(fns) == 1:
            f0 = fns[0]
            return lambda s: impl(B, s, sid, site, f0(s))
        if len(fns) == 2:
            f0, f1 = fns
            return lambda s: impl(B, s, sid, site, f0(s), f1(s))
        return lambda s: impl(B, s, sid, site, *[f(s) for f in fns])

    def _unknown(self, name: str, positions: tuple[int, ...], node: Call, sites: dict[int, Site]) -> Fn:
        """An unknown function (or a derivative of it): at each point one of ``UNKNOWN_CHOICES`` random
        smooth functions, chosen by the point's ``CHOICE``, with its true derivatives."""
        B = self.B
        arity = len(self.space.functions[name])
        if len(node.args) != arity:
            raise ValueError(f"{name} takes {arity} arguments")
        choices = [stand_in(name, arity, k, B) for k in range(UNKNOWN_CHOICES)]
        fns = [self._expr(a, sites) for a in node.args]

        def unknown(s: State) -> Any:
            choice = s.env.get(CHOICE)
            f = choices[0 if choice is None else int(choice) % UNKNOWN_CHOICES]
            return f.value(B, positions, [fn(s) for fn in fns])

        return unknown

    def _cond(self, cond: Cond, sites: dict[int, Site]) -> CondFn:
        B = self.B
        if isinstance(cond, Compare):
            fl, fr = self._expr(cond.left, sites), self._expr(cond.right, sites)
            test = _CMP[cond.op]
            kinkable = self._is_real(cond)

            def compare(s: State) -> bool:
                a, b = fl(s), fr(s)
                if kinkable and abs(a - b) <= B.tiny * (1 + abs(a) + abs(b)):
                    s.kink = True
                return test(a, b)

            return compare
        parts = [self._cond(c, sites) for c in cond.args]
        if cond.op == "and":
            return lambda s: all([p(s) for p in parts])
        return lambda s: any([p(s) for p in parts])


@dataclass(frozen=True, slots=True)
class StandIn:
    """``c0 + a.u + d/2 (k.u)^2 + b sin(w.u + p) + c cos(v.u + q)``: a smooth function of ``u`` with every
    derivative known, drawn at random to stand for an unknown function."""

    c0: Any
    a: tuple[Any, ...]
    d: Any
    k: tuple[Any, ...]
    b: Any
    w: tuple[Any, ...]
    p: Any
    c: Any
    v: tuple[Any, ...]
    q: Any

    def value(self, B: Backend, positions: tuple[int, ...], u: list[Any]) -> Any:
        """The derivative by the parameters at ``positions`` (the value itself for none) at ``u``."""
        n = len(positions)
        ku = sum((ki * ui for ki, ui in zip(self.k, u, strict=True)), 0 * u[0])
        wu = sum((wi * ui for wi, ui in zip(self.w, u, strict=True)), 0 * u[0])
        vu = sum((vi * ui for vi, ui in zip(self.v, u, strict=True)), 0 * u[0])
        if n == 0:
            total = self.c0 + sum((ai * ui for ai, ui in zip(self.a, u, strict=True)), 0 * u[0]) + self.d * ku * ku / 2
        elif n == 1:
            total = self.a[positions[0]] + self.d * self.k[positions[0]] * ku
        elif n == 2:
            total = self.d * self.k[positions[0]] * self.k[positions[1]] + 0 * u[0]
        else:
            total = 0 * u[0]
        wp = vp = 1 + 0 * u[0]
        for j in positions:
            wp, vp = wp * self.w[j], vp * self.v[j]
        phase = n * B.pi / 2
        return total + self.b * wp * B.sin(wu + self.p + phase) + self.c * vp * B.cos(vu + self.q + phase)


def stand_in(name: str, arity: int, choice: int, B: Backend) -> StandIn:
    """The ``choice``-th random smooth function standing for ``name`` (the same in every backend and run)."""
    rng = random.Random(zlib.crc32(f"{name}/{arity}/{choice}".encode()))

    def n(x: float) -> Any:
        return B.num(Fraction(x))

    def vec(lo: float, hi: float) -> tuple[Any, ...]:
        return tuple(n(rng.uniform(lo, hi) * rng.choice((-1, 1))) for _ in range(arity))

    return StandIn(c0=n(rng.uniform(-1, 1)), a=vec(0.3, 1.5), d=n(rng.uniform(0.1, 0.6) * rng.choice((-1, 1))),
                   k=vec(0.3, 1.0), b=n(rng.uniform(0.5, 1.5)), w=vec(0.5, 2.0), p=n(rng.uniform(0, 6.28)),
                   c=n(rng.uniform(0.3, 1.0)), v=vec(2.0, 3.5), q=n(rng.uniform(0, 6.28)))


def _constant_index(value: int) -> Callable[[State], int]:
    return lambda s: value


def _index_lookup(name: str) -> Callable[[State], int]:
    return lambda s: int(s.env[name])


def _real_names(space: Space) -> set[str]:
    """Names whose values vary continuously: real variables and family elements, and defines using them."""
    real = {n for n, d in space.variables.items() if not d.integer}
    for fam, (_, domain) in space.families.items():
        if not domain.integer:
            real.update(space.element(fam, e) for e in space.elements(fam))
            real.update(n for n in space.symbols() if space.split(n) is not None and space.split(n)[0] == fam)  # type: ignore[index]
    for fam, (_, body) in space.family_defines.items():
        if any(isinstance(n, Sym) and n.name in real for n in walk(body)):
            real.update(n for n in space.symbols() if space.split(n) is not None and space.split(n)[0] == fam)  # type: ignore[index]
    for name, body in space.defines.items():
        if any(isinstance(n, Sym) and n.name in real for n in walk(body)):
            real.add(name)
    return real
