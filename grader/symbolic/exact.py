"""Exact confirmation: evaluate both formulas in rational arithmetic at random rational points.

For formulas built from + - * /, integer powers, ``exp`` of integer-linear arguments and the
functions made of it (sigmoid, tanh, sinh, cosh, sech), the substitution ``t = e^x`` turns them into
rational functions of independent indeterminates (x and e^x are algebraically independent, so are e
and both). Two such formulas are equal as functions exactly when their difference is the zero
rational function, and a nonzero one vanishes at a random point of a set of size N with probability
at most degree/N (Schwartz-Zippel). Evaluating with Python's exact ``Fraction`` at a few points with
40-bit coordinates therefore proves equality up to a probability far below 1e-20, and a single exact
disagreement proves inequality. The cost is bounded by a bit budget on every intermediate number
(checked before a power is taken, not after), and every operation tests the check's deadline.

Anything else (piecewise, abs, log, sqrt, pi) makes the method not applicable; numeric probing has
then already decided.
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.expr.nodes import BinOp, Call, Expr, Neg, Num, Piecewise, Sum, Sym
from grader.symbolic.numeric import with_defaults
from grader.symbolic.simplify import rename_indices
from grader.symbolic.space import Budget, Space, TimeUp, current_deadline

MAX_BITS = 20_000
MAX_SWEEP = 200
POINTS = 2
_BITS = 40


class NotApplicable(Exception):
    """The formula uses something the exact method does not handle, or grew too large."""


Linear = tuple[dict[str, Fraction], Fraction]  # coefficients by variable, constant


class ExactEvaluator:
    """Rational values of formulas at one point; ``exp`` of a linear form via per-variable indeterminates."""

    def __init__(self, space: Space, env: dict[str, Any], exp_values: dict[str, Fraction], e_value: Fraction) -> None:
        self.space = space
        self.env = env
        self.exp_values = exp_values
        self.e_value = e_value
        self.work = 0
        self.deadline = current_deadline()

    def check(self, q: Fraction) -> Fraction:
        if q.numerator.bit_length() > MAX_BITS or q.denominator.bit_length() > MAX_BITS:
            raise NotApplicable("numbers grew too large")
        self.work += 1
        if self.work > 200_000:
            raise NotApplicable("too much work")
        if time.monotonic() > self.deadline:
            raise TimeUp("the check took longer than its time bound (exact step)")
        return q

    def resolve(self, name: str) -> str:
        split = self.space.split(name)
        if split is None or name in self.space.variables or name in self.space.defines:
            return name
        family, parts = split
        values = tuple(int(p) if p.isdecimal() else int(self.env[p]) for p in parts)
        return self.space.element(family, values)

    def value(self, node: Expr) -> Fraction:
        match node:
            case Num(value=v):
                return v
            case Sym(name="e") if "e" not in self.space.variables:
                return self.e_value
            case Sym(name=name):
                key = self.resolve(name)
                if key not in self.env:
                    raise NotApplicable(f"{name} has no exact value")
                return Fraction(self.env[key])
            case Neg(arg=a):
                return -self.value(a)
            case BinOp(op=op, left=a, right=b):
                return self.binop(op, a, b)
            case Call():
                return self.call(node)
            case Sum(body=body, index=index, lo=lo, hi=hi):
                low, high = self.value(lo), self.value(hi)
                if low.denominator != 1 or high.denominator != 1 or high - low > 10_000:
                    raise NotApplicable("sum bounds")
                saved = self.env.get(index)
                total = Fraction(0)
                for k in range(int(low), int(high) + 1):
                    self.env[index] = k
                    total = self.check(total + self.value(body))
                if saved is None:
                    self.env.pop(index, None)
                else:
                    self.env[index] = saved
                return total
            case Piecewise():
                raise NotApplicable("piecewise")
        raise TypeError(f"not an expression node: {node!r}")

    def binop(self, op: str, a: Expr, b: Expr) -> Fraction:
        if op == "^":
            if isinstance(a, Sym) and a.name == "e" and "e" not in self.space.variables:
                return self.exp(b)
            n = self.value(b)
            if n.denominator != 1:
                raise NotApplicable("fractional power")
            base = self.value(a)
            bits = max(base.numerator.bit_length(), base.denominator.bit_length())
            if bits * abs(n.numerator) > MAX_BITS:
                raise NotApplicable("power too large")
            if base == 0 and n < 0:
                raise ZeroDivisionError
            return self.check(base ** int(n))
        x, y = self.value(a), self.value(b)
        if op == "+":
            return self.check(x + y)
        if op == "-":
            return self.check(x - y)
        if op == "*":
            return self.check(x * y)
        return self.check(x / y)

    def call(self, node: Call) -> Fraction:
        f = node.func
        args = with_defaults(node)
        if f == "exp":
            return self.exp(args[0])
        if f == "KroneckerDelta":
            return Fraction(int(self.value(args[0]) == self.value(args[1])))
        if f in ("sigmoid", "tanh", "sinh", "cosh", "sech"):
            u = args[0]
            t = self.exp(u)
            if f == "sigmoid":
                return self.check(t / (t + 1))
            if f == "tanh":
                t2 = t * t
                return self.check((t2 - 1) / (t2 + 1))
            if f == "sinh":
                return self.check((t - 1 / t) / 2)
            if f == "cosh":
                return self.check((t + 1 / t) / 2)
            return self.check(2 / (t + 1 / t))
        raise NotApplicable(f"{f} is not rational in exp")

    def exp(self, node: Expr) -> Fraction:
        coefficients, constant = self.linear(node)
        if constant.denominator != 1 or any(c.denominator != 1 for c in coefficients.values()):
            raise NotApplicable("exp of a non-integer multiple")
        out = Fraction(1)
        for name, c in coefficients.items():
            if c:
                out = self.check(out * self._power(self.exp_values[name], int(c)))
        if constant:
            out = self.check(out * self._power(self.e_value, int(constant)))
        return out

    @staticmethod
    def _power(base: Fraction, n: int) -> Fraction:
        """``base ** n``, refused before it is computed when the result would pass the bit budget."""
        bits = max(base.numerator.bit_length(), base.denominator.bit_length())
        if bits * abs(n) > MAX_BITS:
            raise NotApplicable("power too large")
        return base ** n

    def linear(self, node: Expr) -> Linear:
        """``node`` as sum(c_v * v) + c with rational c_v, or NotApplicable."""
        match node:
            case Num(value=v):
                return {}, v
            case Sym(name=name):
                if name in self.space.defines:
                    return self.linear(self.space.defines[name])
                key = self.resolve(name)
                split = self.space.split(key)
                if split is not None and split[0] in self.space.family_defines:
                    formal, body = self.space.family_defines[split[0]]
                    return self.linear(rename_indices(body, dict(zip(formal, split[1], strict=True)), self.space))
                if key in self.space.indices or key not in self.exp_values:
                    return {}, self.value(node)
                return {key: Fraction(1)}, Fraction(0)
            case Neg(arg=a):
                c, k = self.linear(a)
                return {n: -v for n, v in c.items()}, -k
            case BinOp(op="+" | "-", left=a, right=b):
                (ca, ka), (cb, kb) = self.linear(a), self.linear(b)
                sign = 1 if node.op == "+" else -1
                out = dict(ca)
                for n, v in cb.items():
                    out[n] = out.get(n, Fraction(0)) + sign * v
                return out, ka + sign * kb
            case BinOp(op="*" | "/", left=a, right=b):
                (ca, ka), (cb, kb) = self.linear(a), self.linear(b)
                if node.op == "/":
                    if any(cb.values()) or kb == 0:
                        raise NotApplicable("exp of a non-linear argument")
                    return {n: v / kb for n, v in ca.items()}, ka / kb
                if any(ca.values()) and any(cb.values()):
                    raise NotApplicable("exp of a non-linear argument")
                if any(ca.values()):
                    return {n: v * kb for n, v in ca.items()}, ka * kb
                return {n: v * ka for n, v in cb.items()}, ka * kb
        raise NotApplicable("exp of a non-linear argument")


def _random_value(rng: random.Random, low: float, high: float) -> Fraction:
    scale = 1 << _BITS
    if low > -1e300 and high < 1e300:
        return Fraction(low) + (Fraction(high) - Fraction(low)) * Fraction(rng.randint(1, scale - 1), scale)
    magnitude = Fraction(rng.randint(1, scale), rng.randint(1, 1 << 20))
    if low > -1e300:
        return Fraction(low) + magnitude
    if high < 1e300:
        return Fraction(high) - magnitude
    return magnitude if rng.random() < 0.5 else -magnitude


@dataclass
class ExactPoint:
    env: dict[str, Any]
    exp_values: dict[str, Fraction]
    e_value: Fraction
    key: Fraction


ExactCache = dict[tuple[tuple[str, ...], int], ExactPoint | None]


def exact_compare(space: Space, key: Expr, student: Expr, indices: list[str], budget: Budget,
                  seed: int = 7, cache: ExactCache | None = None) -> bool | None:
    """True if proven equal, False if proven different, None if the method does not apply.

    The points depend only on the problem and the indices used, so the key's values there are kept
    in ``cache`` and each further answer costs one evaluation per point.
    """
    integer_names = [n for n, d in space.variables.items() if d.integer]
    sweeps: list[list[int]] = []
    for n in integer_names:
        d = space.variables[n]
        if not d.bounded or d.high - d.low > MAX_SWEEP:
            return None
        sweeps.append(list(range(int(d.low), int(d.high) + 1)))
    real_names = [n for n, d in space.variables.items() if not d.integer]
    elements = [space.element(f, e) for f in space.families for e in space.elements(f)]
    ranges = [range(space.indices[i][0], space.indices[i][1] + 1) for i in indices]
    combos = list(itertools.product(*ranges)) if indices else [()]
    ints = list(itertools.product(*sweeps)) if integer_names else [()]
    if len(ints) * len(combos) > 2000:
        return None
    continuous = bool(real_names or elements)
    repeats = (POINTS if len(combos) == 1 else 1) if continuous else 1
    plan = [(c, i) for c in combos for i in ints for _ in range(repeats)
            if _within_limits(space, dict(zip(indices, c, strict=True)) | dict(zip(integer_names, i, strict=True)))]
    cache = {} if cache is None else cache
    compared = 0
    for k, (combo, values) in enumerate(plan):
        budget.check()
        slot = (tuple(indices), k)
        if slot not in cache:
            cache[slot] = _key_point(space, key, dict(zip(indices, combo, strict=True)),
                                     dict(zip(integer_names, values, strict=True)), real_names, elements,
                                     random.Random(seed * 1_000_003 + k))
        point = cache[slot]
        if point is None:
            return None
        evaluator = ExactEvaluator(space, dict(point.env), point.exp_values, point.e_value)
        try:
            value = evaluator.value(student)
        except ZeroDivisionError:
            continue
        except NotApplicable:
            return None
        if value != point.key:
            return False
        compared += 1
    return True if compared else None


def _within_limits(space: Space, values: dict[str, int]) -> bool:
    """Whether every index is within its symbolic bound (``i <= n`` for ``indices: {i: [1, n]}``) here."""
    return all(values[i] <= values[n] for i, n in space.index_limits.items() if i in values and n in values)


def _key_point(space: Space, key: Expr, index_values: dict[str, int], ints: dict[str, int],
               real_names: list[str], elements: list[str], rng: random.Random) -> ExactPoint | None:
    """A random rational point with the key's exact value there, or None if the method does not apply."""
    for _ in range(5):
        env: dict[str, Any] = dict(index_values)
        env.update({n: Fraction(v) for n, v in ints.items()})
        for n in real_names:
            d = space.variables[n]
            env[n] = _random_value(rng, d.low, d.high)
        for n in elements:
            split = space.split(n)
            assert split is not None
            d = space.families[split[0]][1]
            env[n] = _random_value(rng, d.low, d.high)
        exp_values = {n: Fraction(rng.randint(2, 1 << _BITS), rng.randint(1, 1 << _BITS))
                      for n in [*real_names, *elements]}
        e_value = Fraction(rng.randint(2, 1 << _BITS), rng.randint(1, 1 << _BITS))
        ev = ExactEvaluator(space, env, exp_values, e_value)
        try:
            for family, (formal, body) in space.family_defines.items():  # before the plain defines that sum them
                for element in space.elements(family):
                    saved = {k: env.get(k) for k in formal}
                    env.update(zip(formal, element, strict=True))
                    env[space.element(family, element)] = ev.value(body)
                    for k, v in saved.items():
                        if v is None:
                            env.pop(k, None)
                        else:
                            env[k] = v
            for name, body in space.defines.items():
                env[name] = ev.value(body)
            return ExactPoint(env, exp_values, e_value, ev.value(key))
        except ZeroDivisionError:
            continue
        except NotApplicable:
            return None
    return None
