"""Symbolic derivatives of expression trees, for ``answer: diff(...)`` in a problem file.

The rules follow the function library and its kink conventions (PyTorch's): ``relu'(0) = 0``,
``abs'(0) = 0``, ``leaky_relu'(0) = alpha``, ``elu'(0) = alpha``, ``hinge`` and ``relu6`` take the flat
side at their kinks, ``max``/``min`` split a tie evenly. A ``Piecewise`` is differentiated case by
case with the same conditions. Defined names are differentiated through their definitions, and an
indexed variable against another gives a Kronecker delta (``d z_m / d z_j = KroneckerDelta(m, j)``).
"""

from __future__ import annotations

from fractions import Fraction

from grader.expr.nodes import ONE, ZERO, BinOp, Call, Compare, Cond, Expr, Logic, Neg, Num, Piecewise, Sum, Sym
from grader.expr.notation import derivative_name, split_derivative
from grader.symbolic.numeric import with_defaults
from grader.symbolic.simplify import Simplifier, binop, kronecker, negate, rename_indices
from grader.symbolic.space import Space, current_deadline, past


class DerivativeError(ValueError):
    """A ``diff`` that cannot be taken (with respect to something that is not a variable)."""


def _n(value: int | Fraction) -> Expr:
    return Num(Fraction(value)) if value >= 0 else Neg(Num(-Fraction(value)))


def _call(func: str, *args: Expr) -> Expr:
    return Call(func, args)


def _cases(*pieces: tuple[Expr, Cond | None]) -> Expr:
    return Piecewise(tuple(pieces))


def _gt(a: Expr, b: Expr) -> Cond:
    return Compare(">", a, b)


class Differentiator:
    """``d(node)/d(wrt)`` for one problem space, remembering derivatives of defined names."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.memo: dict[tuple[int, str], tuple[Expr, Expr]] = {}
        self.deadline = current_deadline()

    def derivative(self, node: Expr, wrt: str) -> Expr:
        key = (id(node), wrt)
        hit = self.memo.get(key)
        if hit is not None and hit[0] is node:
            return hit[1]
        past(self.deadline)  # a student's own formula may be differentiated (follow-through): bounded in time
        out = self._d(node, wrt)
        self.memo[key] = (node, out)
        return out

    def _d(self, node: Expr, wrt: str) -> Expr:
        d = self.derivative
        match node:
            case Num():
                return ZERO
            case Sym(name=name):
                return self._symbol(name, wrt)
            case Neg(arg=a):
                return negate(d(a, wrt))
            case BinOp(op="+" | "-", left=a, right=b):
                return binop(node.op, d(a, wrt), d(b, wrt))
            case BinOp(op="*", left=a, right=b):
                return binop("+", binop("*", d(a, wrt), b), binop("*", a, d(b, wrt)))
            case BinOp(op="/", left=a, right=b):
                da, db = d(a, wrt), d(b, wrt)
                if db == ZERO:
                    return binop("/", da, b)
                return binop("/", binop("-", binop("*", da, b), binop("*", a, db)), binop("^", b, _n(2)))
            case BinOp(op="^", left=a, right=b):
                return self._power(a, b, wrt)
            case Call():
                return self._call(node, wrt)
            case Piecewise(pieces=pieces, pos=pos):
                return Piecewise(tuple((d(v, wrt), c) for v, c in pieces), pos)
            case Sum(body=body, index=index, lo=lo, hi=hi, pos=pos):
                if wrt == index:
                    raise DerivativeError(f"cannot differentiate with respect to the summation index {index}")
                return Sum(d(body, wrt), index, lo, hi, pos)
        raise TypeError(f"not an expression node: {node!r}")

    def _symbol(self, name: str, wrt: str) -> Expr:
        space = self.space
        if name == wrt:
            return ONE
        if name in space.defines:
            return self.derivative(space.defines[name], wrt)
        if name in space.variables or name in space.indices:
            return ZERO
        split = space.split(name)
        if split is None:
            return ZERO
        family, parts = split
        if family in space.family_defines:
            formal, body = space.family_defines[family]
            return self.derivative(rename_indices(body, dict(zip(formal, parts, strict=True)), space), wrt)
        target = space.split(wrt)
        if target is None or target[0] != family:
            return ZERO
        out: Expr = ONE
        for p, q in zip(parts, target[1], strict=True):
            out = binop("*", out, kronecker(_index(p), _index(q)))
        return out

    def _power(self, a: Expr, b: Expr, wrt: str) -> Expr:
        d = self.derivative
        da, db = d(a, wrt), d(b, wrt)
        power = BinOp("^", a, b)
        if isinstance(a, Sym) and a.name == "e" and "e" not in self.space.variables:
            return binop("*", power, db)
        if db == ZERO:  # a^n: n*a^(n-1)*a'
            lowered = binop("^", a, binop("-", b, ONE))
            return binop("*", binop("*", b, lowered), da)
        # a^b = exp(b*log(a)): a^b*(b'*log(a) + b*a'/a)
        return binop("*", power, binop("+", binop("*", db, _call("log", a)), binop("/", binop("*", b, da), a)))

    def _call(self, node: Call, wrt: str) -> Expr:
        if node.func == "diff":
            return self.derivative(self.expand(node), wrt)
        args = with_defaults(node)
        total: Expr = ZERO
        for k, arg in enumerate(args):
            inner = self.derivative(arg, wrt)
            if inner == ZERO:
                continue
            total = binop("+", total, binop("*", self.partial(node.func, args, k), inner))
        return total

    def partial(self, func: str, args: tuple[Expr, ...], k: int) -> Expr:
        """The partial derivative of ``func(*args)`` with respect to argument ``k``."""
        unknown, by = split_derivative(func)
        if unknown in self.space.functions:  # d/dw g'(w) = g''(w): a call of the derivative
            params = self.space.functions[unknown]
            return Call(derivative_name(unknown, (*by, params[k]), params), args)
        u = args[0]
        one_minus = binop("-", ONE, _call(func, u)) if func in ("sigmoid",) else ZERO
        if func == "sigmoid":
            return binop("*", _call("sigmoid", u), one_minus)
        if func == "tanh":
            return binop("-", ONE, binop("^", _call("tanh", u), _n(2)))
        if func == "relu":
            return _cases((ONE, _gt(u, ZERO)), (ZERO, None))
        if func in ("leaky_relu", "prelu"):
            a = args[1]
            if k == 0:
                return _cases((ONE, _gt(u, ZERO)), (a, None))
            return _cases((ZERO, _gt(u, ZERO)), (u, None))
        if func == "elu":
            a = args[1]
            if k == 0:
                return _cases((ONE, _gt(u, ZERO)), (binop("*", a, _call("exp", u)), None))
            return _cases((ZERO, _gt(u, ZERO)), (binop("-", _call("exp", u), ONE), None))
        if func == "relu6":
            return _cases((ONE, Logic("and", (_gt(u, ZERO), Compare("<", u, _n(6))))), (ZERO, None))
        if func == "softplus":
            return _call("sigmoid", u)
        if func == "exp":
            return _call("exp", u)
        if func == "log":
            if len(args) == 1:
                return binop("/", ONE, u)
            base = args[1]
            if k == 0:  # log(u, b) = ln u / ln b
                return binop("/", ONE, binop("*", u, _call("log", base)))
            return negate(binop("/", _call("log", u), binop("*", base, binop("^", _call("log", base), _n(2)))))
        if func == "sqrt":
            return binop("/", ONE, binop("*", _n(2), _call("sqrt", u)))
        if func == "abs":
            return _call("sign", u)
        if func in ("sign", "Heaviside", "KroneckerDelta"):
            return ZERO
        if func in ("max", "min"):
            return self._extreme(func, args, k)
        if func == "huber":
            r, delta = args
            inside = Compare("<=", _call("abs", r), delta)
            if k == 0:
                return _cases((r, inside), (binop("*", delta, _call("sign", r)), None))
            return _cases((ZERO, inside), (binop("-", _call("abs", r), delta), None))
        if func == "hinge":
            y, s = args
            active = _gt(binop("-", ONE, binop("*", y, s)), ZERO)
            return _cases((negate(s if k == 0 else y), active), (ZERO, None))
        if func == "sin":
            return _call("cos", u)
        if func == "cos":
            return negate(_call("sin", u))
        if func == "sinh":
            return _call("cosh", u)
        if func == "cosh":
            return _call("sinh", u)
        if func == "sech":
            return negate(binop("*", _call("sech", u), _call("tanh", u)))
        if func == "tan":
            return binop("+", ONE, binop("^", _call("tan", u), _n(2)))
        if func == "sec":
            return binop("*", _call("sec", u), _call("tan", u))
        if func == "csc":
            return negate(binop("*", _call("csc", u), _call("cot", u)))
        if func == "cot":
            return negate(binop("+", ONE, binop("^", _call("cot", u), _n(2))))
        if func in ("asin", "acos"):
            root = _call("sqrt", binop("-", ONE, binop("^", u, _n(2))))
            out = binop("/", ONE, root)
            return out if func == "asin" else negate(out)
        if func == "atan":
            return binop("/", ONE, binop("+", ONE, binop("^", u, _n(2))))
        if func == "asinh":
            return binop("/", ONE, _call("sqrt", binop("+", binop("^", u, _n(2)), ONE)))
        if func == "acosh":
            return binop("/", ONE, _call("sqrt", binop("-", binop("^", u, _n(2)), ONE)))
        if func == "atanh":
            return binop("/", ONE, binop("-", ONE, binop("^", u, _n(2))))
        raise DerivativeError(f"no derivative rule for {func}")

    def _extreme(self, func: str, args: tuple[Expr, ...], k: int) -> Expr:
        if len(args) > 2:  # max(a, b, c) = max(max(a, b), c)
            nested = Call(func, (Call(func, args[:-1]), args[-1]))
            if k == len(args) - 1:
                return self.partial(func, nested.args, 1)
            inner = self.partial(func, args[:-1], k)
            return binop("*", self.partial(func, nested.args, 0), inner)
        mine, other = args[k], args[1 - k]
        op = ">" if func == "max" else "<"
        return _cases((ONE, Compare(op, mine, other)), (Num(Fraction(1, 2)), Compare("==", mine, other)), (ZERO, None))

    def expand(self, node: Expr) -> Expr:
        """Replace every ``diff(f, x, ...)`` in ``node`` by the derivative it asks for."""
        match node:
            case Call(func="diff", args=args, pos=pos):
                target = self.expand(args[0])
                previous: str | None = None
                for spec in args[1:]:
                    if isinstance(spec, Num) and spec.value.denominator == 1 and previous is not None:
                        for _ in range(int(spec.value) - 1):
                            target = self.derivative(target, previous)
                        continue
                    if not isinstance(spec, Sym) or not self._differentiable(spec.name):
                        raise DerivativeError("diff(f, x) needs a variable of the problem after the formula")
                    target = self.derivative(target, spec.name)
                    previous = spec.name
                return target
            case Num() | Sym():
                return node
            case Neg(arg=a, pos=pos):
                return Neg(self.expand(a), pos)
            case BinOp(op=op, left=a, right=b, pos=pos):
                return BinOp(op, self.expand(a), self.expand(b), pos)
            case Call(func=f, args=args, pos=pos):
                return Call(f, tuple(self.expand(a) for a in args), pos)
            case Piecewise(pieces=pieces, pos=pos):
                return Piecewise(tuple((self.expand(v), c) for v, c in pieces), pos)
            case Sum(body=body, index=index, lo=lo, hi=hi, pos=pos):
                return Sum(self.expand(body), index, lo, hi, pos)
        raise TypeError(f"not an expression node: {node!r}")

    def _differentiable(self, name: str) -> bool:
        space = self.space
        if name in space.variables:
            return not space.variables[name].integer
        split = space.split(name)
        return split is not None and split[0] in space.families and not space.families[split[0]][1].integer


def _index(part: str) -> Expr:
    return Num(Fraction(int(part))) if part.isdecimal() else Sym(part)


def expand_diffs(node: Expr, space: Space) -> Expr:
    """``node`` with every ``diff`` computed and the result tidied for display."""
    return Simplifier(space)(Differentiator(space).expand(node))
