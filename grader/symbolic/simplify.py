"""Light tidying of trees made by the derivative: fold numbers, drop 0 and 1, resolve Kronecker deltas.

This is for showing keys, not for deciding equivalence (that is numeric and exact evaluation), so it
only applies rules that are always valid and never grow a tree.
"""

from __future__ import annotations

from fractions import Fraction

from grader.expr.nodes import ONE, ZERO, BinOp, Call, Compare, Cond, Expr, Logic, Neg, Num, Piecewise, Sum, Sym
from grader.symbolic.space import Space


def _num(node: Expr) -> Fraction | None:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Neg) and isinstance(node.arg, Num):
        return -node.arg.value
    return None


def rename_indices(node: Expr, mapping: dict[str, str], space: Space) -> Expr:
    """Replace index symbols (``k`` -> ``i`` or ``2``), also inside indexed names (``z_k`` -> ``z_i``)."""
    if not mapping:
        return node
    match node:
        case Num():
            return node
        case Sym(name=name, pos=pos):
            if name in mapping:
                new = mapping[name]
                return Num(Fraction(int(new)), pos) if new.isdecimal() else Sym(new, pos)
            split = space.split(name)
            if split is not None and any(p in mapping for p in split[1]):
                family, parts = split
                return Sym(f"{family}_{''.join(mapping.get(p, p) for p in parts)}", pos)
            return node
        case Neg(arg=a, pos=pos):
            return Neg(rename_indices(a, mapping, space), pos)
        case BinOp(op=op, left=a, right=b, pos=pos):
            return BinOp(op, rename_indices(a, mapping, space), rename_indices(b, mapping, space), pos)
        case Call(func=f, args=args, pos=pos):
            return Call(f, tuple(rename_indices(a, mapping, space) for a in args), pos)
        case Piecewise(pieces=pieces, pos=pos):
            return Piecewise(tuple((rename_indices(v, mapping, space),
                                    None if c is None else _rename_cond(c, mapping, space)) for v, c in pieces), pos)
        case Sum(body=body, index=index, lo=lo, hi=hi, pos=pos):
            inner = {k: v for k, v in mapping.items() if k != index}
            return Sum(rename_indices(body, inner, space), index, rename_indices(lo, mapping, space),
                       rename_indices(hi, mapping, space), pos)
    raise TypeError(f"not an expression node: {node!r}")


def _rename_cond(cond: Cond, mapping: dict[str, str], space: Space) -> Cond:
    if isinstance(cond, Compare):
        return Compare(cond.op, rename_indices(cond.left, mapping, space), rename_indices(cond.right, mapping, space),
                       cond.pos)
    return Logic(cond.op, tuple(_rename_cond(c, mapping, space) for c in cond.args), cond.pos)


class Simplifier:
    """Bottom-up rewriting with a memo, so trees that share subtrees stay shared."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.memo: dict[int, tuple[Expr, Expr]] = {}

    def __call__(self, node: Expr) -> Expr:
        hit = self.memo.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        out = self._simplify(node)
        self.memo[id(node)] = (node, out)
        return out

    def _simplify(self, node: Expr) -> Expr:
        match node:
            case Num() | Sym():
                return node
            case Neg(arg=a):
                return negate(self(a))
            case BinOp(op=op, left=a, right=b):
                return binop(op, self(a), self(b))
            case Call(func="KroneckerDelta", args=(i, j)):
                return kronecker(self(i), self(j))
            case Call(func=f, args=args, pos=pos):
                return Call(f, tuple(self(a) for a in args), pos)
            case Piecewise(pieces=pieces, pos=pos):
                new = tuple((self(v), c) for v, c in pieces)
                if new[-1][1] is None and all(v == new[0][0] for v, _ in new):
                    return new[0][0]
                return Piecewise(new, pos)
            case Sum(body=body, index=index, lo=lo, hi=hi, pos=pos):
                return self._sum(self(body), index, self(lo), self(hi), pos)
        raise TypeError(f"not an expression node: {node!r}")

    def _sum(self, body: Expr, index: str, lo: Expr, hi: Expr, pos: int) -> Expr:
        if body == ZERO:
            return ZERO
        factors = _factors(body)
        for k, f in enumerate(factors):
            if not (isinstance(f, Call) and f.func == "KroneckerDelta"):
                continue
            a, b = f.args
            other = b if a == Sym(index) else a if b == Sym(index) else None
            if other is None or not self._covers(other, lo, hi):
                continue
            rest = factors[:k] + factors[k + 1:]
            product = _product(rest)
            target = str(int(other.value)) if isinstance(other, Num) else other.name  # type: ignore[union-attr]
            return self(rename_indices(product, {index: target}, self.space))
        return Sum(body, index, lo, hi, pos)

    def _covers(self, other: Expr, lo: Expr, hi: Expr) -> bool:
        """Whether every value ``other`` can take lies in ``[lo, hi]`` (so a delta picks one term)."""
        low, high = _num(lo), _num(hi)
        if low is None or high is None:
            return False
        if isinstance(other, Num):
            return low <= other.value <= high
        if isinstance(other, Sym) and other.name in self.space.indices:
            a, b = self.space.indices[other.name]
            return low <= a and b <= high
        return False


def _factors(node: Expr) -> list[Expr]:
    if isinstance(node, BinOp) and node.op == "*":
        return _factors(node.left) + _factors(node.right)
    return [node]


def _product(factors: list[Expr]) -> Expr:
    if not factors:
        return ONE
    out = factors[0]
    for f in factors[1:]:
        out = binop("*", out, f)
    return out


def negate(a: Expr) -> Expr:
    value = _num(a)
    if value is not None:
        return Num(-value) if value <= 0 else Neg(Num(value))
    if isinstance(a, Neg):
        return a.arg
    return Neg(a)


def kronecker(i: Expr, j: Expr) -> Expr:
    if i == j:
        return ONE
    if isinstance(i, Num) and isinstance(j, Num):
        return ZERO
    return Call("KroneckerDelta", (i, j))


def binop(op: str, a: Expr, b: Expr) -> Expr:
    """``a op b`` with the always-valid shortcuts applied."""
    x, y = _num(a), _num(b)
    if x is not None and y is not None:
        folded = _fold(op, x, y)
        if folded is not None:
            return Num(folded) if folded >= 0 else Neg(Num(-folded))
    if op == "+":
        if x == 0:
            return b
        if y == 0:
            return a
        if isinstance(b, Neg):
            return binop("-", a, b.arg)
        if isinstance(a, Neg):
            return binop("-", b, a.arg)
    elif op == "-":
        if y == 0:
            return a
        if x == 0:
            return negate(b)
        if isinstance(b, Neg):
            return binop("+", a, b.arg)
    elif op == "*":
        if x == 0 or y == 0:
            return ZERO
        if x == 1:
            return b
        if y == 1:
            return a
        if x == -1:
            return negate(b)
        if y == -1:
            return negate(a)
        if isinstance(a, Neg):
            return negate(binop("*", a.arg, b))
        if isinstance(b, Neg):
            return negate(binop("*", a, b.arg))
        if isinstance(b, BinOp) and b.op == "/" and _num(b.left) == 1:
            return binop("/", a, b.right)  # a*(1/b) is a/b
        if y is not None:
            return binop("*", b, a)  # numbers first: 2*x, not x*2
        if x is not None and isinstance(b, BinOp) and b.op == "*" and _num(b.left) is not None:
            return binop("*", binop("*", a, b.left), b.right)
    elif op == "/":
        if x == 0 and y != 0:
            return ZERO
        if y == 1:
            return a
        if isinstance(a, Neg):
            return negate(binop("/", a.arg, b))
    elif op == "^":
        if y == 1:
            return a
        if y == 0:
            return ONE
    return BinOp(op, a, b)


def _fold(op: str, x: Fraction, y: Fraction) -> Fraction | None:
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "/":
        return x / y if y != 0 else None
    if y.denominator == 1 and abs(y) <= 64 and (x != 0 or y >= 0):
        return x ** int(y)
    return None
