"""Build sympy expressions from trees, node by node (never from text).

The tree has already passed the parser's whitelist; this conversion enforces the size limits again
(node count, exponents, sum lengths), because a tree can also be built in code and sympy evaluates
constant powers eagerly. The grader does not call sympy while grading (its calls cannot be
interrupted in a worker thread); this serves tools such as the benchmark's baseline.
"""

from __future__ import annotations

import math
from typing import Any

import sympy

from grader.expr.build import MAX_LITERAL_EXPONENT
from grader.expr.errors import LimitError
from grader.expr.nodes import BinOp, Call, Compare, Cond, Expr, Neg, Num, Piecewise, Sum, Sym, walk
from grader.symbolic.numeric import MAX_WORK, with_defaults
from grader.symbolic.simplify import rename_indices
from grader.symbolic.space import Space

MAX_NODES = 20_000


class SympyConverter:
    """One problem space's symbols, reused across conversions."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.symbols: dict[str, Any] = {}
        self.defines: dict[str, Any] = {}

    def __call__(self, tree: Expr) -> Any:
        count = sum(1 for _ in walk(tree))
        if count > MAX_NODES:
            raise LimitError(f"the formula is too large to convert ({count} nodes)")
        return self.expr(tree)

    def symbol(self, name: str) -> Any:
        if name in self.symbols:
            return self.symbols[name]
        space = self.space
        if name in space.indices:
            sym = sympy.Symbol(name, integer=True)
        elif name in space.variables:
            d = space.variables[name]
            assumptions: dict[str, bool] = {"integer": True} if d.integer else {"real": True}
            if d.low > 0 or (d.low == 0 and d.low_open):
                assumptions["positive"] = True
            elif d.low == 0:
                assumptions["nonnegative"] = True
            sym = sympy.Symbol(name, **assumptions)
        else:
            sym = sympy.Symbol(name, real=True)
        self.symbols[name] = sym
        return sym

    def expr(self, node: Expr) -> Any:
        match node:
            case Num(value=v):
                return sympy.Rational(v.numerator, v.denominator)
            case Sym(name=name):
                return self.name(name)
            case Neg(arg=a):
                return -self.expr(a)
            case BinOp(op=op, left=a, right=b):
                x, y = self.expr(a), self.expr(b)
                if op == "+":
                    return sympy.Add(x, y)
                if op == "-":
                    return sympy.Add(x, sympy.Mul(-1, y))
                if op == "*":
                    return sympy.Mul(x, y)
                if op == "/":
                    return sympy.Mul(x, sympy.Pow(y, -1))
                return self.power(x, y)
            case Call():
                return self.call(node)
            case Piecewise(pieces=pieces):
                return sympy.Piecewise(*[(self.expr(v), True if c is None else self.cond(c)) for v, c in pieces])
            case Sum(body=body, index=index, lo=lo, hi=hi):
                low, high = self.expr(lo), self.expr(hi)
                if low.is_number and high.is_number and high - low > MAX_WORK:
                    raise LimitError("the sum has too many terms")
                return sympy.Sum(self.expr(body), (sympy.Symbol(index, integer=True), low, high))
        raise TypeError(f"not an expression node: {node!r}")

    def name(self, name: str) -> Any:
        space = self.space
        if name == "e" and name not in space.variables:
            return sympy.E
        if name in ("pi", "π") and name not in space.variables:
            return sympy.pi
        if name in space.defines:
            if name not in self.defines:
                self.defines[name] = self.expr(space.defines[name])
            return self.defines[name]
        split = space.split(name) if name not in space.variables else None
        if split is not None:
            family, parts = split
            if family in space.family_defines:
                formal, body = space.family_defines[family]
                return self.expr(rename_indices(body, dict(zip(formal, parts, strict=True)), space))
            index = [sympy.Integer(int(p)) if p.isdecimal() else sympy.Symbol(p, integer=True) for p in parts]
            return sympy.IndexedBase(family, real=True)[tuple(index)]
        return self.symbol(name)

    def power(self, x: Any, y: Any) -> Any:
        if y.is_number:
            e = float(y)
            if abs(e) > MAX_LITERAL_EXPONENT:
                raise LimitError(f"the exponent is too large (at most {MAX_LITERAL_EXPONENT})")
            if x.is_number and x != 0 and abs(e) * math.log(abs(float(x))) > 690:
                raise LimitError("the number is too large")
        return sympy.Pow(x, y)

    def call(self, node: Call) -> Any:
        args = [self.expr(a) for a in with_defaults(node)]
        u = args[0]
        f = node.func
        simple = {"exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt, "abs": sympy.Abs, "sign": sympy.sign,
                  "tanh": sympy.tanh, "sin": sympy.sin, "cos": sympy.cos, "sinh": sympy.sinh, "cosh": sympy.cosh,
                  "sech": sympy.sech, "tan": sympy.tan, "sec": sympy.sec, "csc": sympy.csc, "cot": sympy.cot,
                  "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan, "asinh": sympy.asinh,
                  "acosh": sympy.acosh, "atanh": sympy.atanh, "factorial": sympy.factorial}
        if f == "log" and len(args) == 2:
            return sympy.log(u, args[1])
        if f == "binomial":
            return sympy.binomial(u, args[1])
        if f in simple:
            return simple[f](u)
        if f == "sigmoid":
            return 1 / (1 + sympy.exp(-u))
        if f == "relu":
            return sympy.Max(0, u)
        if f == "relu6":
            return sympy.Min(sympy.Max(0, u), 6)
        if f in ("leaky_relu", "prelu"):
            return sympy.Piecewise((u, u > 0), (args[1] * u, True))
        if f == "elu":
            return sympy.Piecewise((u, u > 0), (args[1] * (sympy.exp(u) - 1), True))
        if f == "softplus":
            return sympy.log(1 + sympy.exp(u))
        if f == "max":
            return sympy.Max(*args)
        if f == "min":
            return sympy.Min(*args)
        if f == "huber":
            d = args[1]
            return sympy.Piecewise((u**2 / 2, sympy.Abs(u) <= d), (d * (sympy.Abs(u) - d / 2), True))
        if f == "hinge":
            return sympy.Max(0, 1 - args[0] * args[1])
        if f == "Heaviside":
            return sympy.Heaviside(u, args[1])
        if f == "KroneckerDelta":
            return sympy.KroneckerDelta(args[0], args[1])
        raise ValueError(f"{f} has no sympy counterpart")

    def cond(self, cond: Cond) -> Any:
        if isinstance(cond, Compare):
            a, b = self.expr(cond.left), self.expr(cond.right)
            ops = {"<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge, "==": sympy.Eq, "!=": sympy.Ne}
            return ops[cond.op](a, b)
        parts = [self.cond(c) for c in cond.args]
        return sympy.And(*parts) if cond.op == "and" else sympy.Or(*parts)


def to_sympy(tree: Expr, space: Space | None = None) -> Any:
    """``tree`` as a sympy expression, defines inlined, indexed names as ``IndexedBase`` elements."""
    return SympyConverter(space or Space())(tree)

