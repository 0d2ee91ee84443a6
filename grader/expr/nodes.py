"""The expression tree shared by problem files and student answers.

Every parser (plain text, LaTeX) produces these nodes and nothing else; every consumer (the numeric
solver, the symbolic checker) walks them. Nodes are immutable. ``pos`` is the 0-based offset in the
source text, kept for error messages and excluded from equality.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class Num:
    value: Fraction
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Sym:
    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Neg:
    arg: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str  # one of + - * / ^
    left: Expr
    right: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Call:
    func: str  # canonical library name
    args: tuple[Expr, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # one of < <= > >= == !=
    left: Expr
    right: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # and, or
    args: tuple[Cond, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Piecewise:
    """``pieces`` are tried in order; the last may have ``cond=None`` (otherwise)."""

    pieces: tuple[tuple[Expr, Cond | None], ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Sum:
    """A finite sum ``sum_{index=lo}^{hi} body`` with integer bounds known once symbols are bound."""

    body: Expr
    index: str
    lo: Expr
    hi: Expr
    pos: int = field(default=0, compare=False)


Expr = Num | Sym | Neg | BinOp | Call | Piecewise | Sum
Cond = Compare | Logic

ZERO = Num(Fraction(0))
ONE = Num(Fraction(1))


def children(node: Expr | Cond) -> tuple[Expr | Cond, ...]:
    """Return the direct sub-expressions of ``node``."""
    match node:
        case Num() | Sym():
            return ()
        case Neg(arg=a):
            return (a,)
        case BinOp(left=a, right=b) | Compare(left=a, right=b):
            return (a, b)
        case Call(args=args):
            return args
        case Logic(args=args):
            return args
        case Piecewise(pieces=pieces):
            out: list[Expr | Cond] = []
            for value, cond in pieces:
                out.append(value)
                if cond is not None:
                    out.append(cond)
            return tuple(out)
        case Sum(body=body, lo=lo, hi=hi):
            return (body, lo, hi)
    raise TypeError(f"not an expression node: {node!r}")


def walk(node: Expr | Cond) -> Iterator[Expr | Cond]:
    """Yield ``node`` and every node below it, parents first (iteratively: trees may be deep)."""
    stack: list[Expr | Cond] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def free_symbols(node: Expr | Cond) -> set[str]:
    """Names of the symbols ``node`` depends on (summation indices are bound, not free)."""
    bound: set[str] = set()
    names: set[str] = set()
    for sub in walk(node):
        if isinstance(sub, Sym):
            names.add(sub.name)
        elif isinstance(sub, Sum):
            bound.add(sub.index)
    return names - bound


def depth(node: Expr | Cond) -> int:
    """Height of the tree, computed without recursion."""
    best = 0
    stack: list[tuple[Expr | Cond, int]] = [(node, 1)]
    while stack:
        current, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in children(current))
    return best


def substitute(node: Expr, mapping: dict[str, Expr]) -> Expr:
    """Replace free symbols by expressions (used to inline ``define``d names)."""
    match node:
        case Num():
            return node
        case Sym(name=name):
            return mapping.get(name, node)
        case Neg(arg=a, pos=pos):
            return Neg(substitute(a, mapping), pos)
        case BinOp(op=op, left=a, right=b, pos=pos):
            return BinOp(op, substitute(a, mapping), substitute(b, mapping), pos)
        case Call(func=f, args=args, pos=pos):
            return Call(f, tuple(substitute(a, mapping) for a in args), pos)
        case Piecewise(pieces=pieces, pos=pos):
            return Piecewise(
                tuple(
                    (substitute(v, mapping), None if c is None else _substitute_cond(c, mapping))
                    for v, c in pieces
                ),
                pos,
            )
        case Sum(body=body, index=index, lo=lo, hi=hi, pos=pos):
            inner = {k: v for k, v in mapping.items() if k != index}
            return Sum(substitute(body, inner), index, substitute(lo, mapping), substitute(hi, mapping), pos)
    raise TypeError(f"not an expression node: {node!r}")


def _substitute_cond(cond: Cond, mapping: dict[str, Expr]) -> Cond:
    if isinstance(cond, Compare):
        return Compare(cond.op, substitute(cond.left, mapping), substitute(cond.right, mapping), cond.pos)
    return Logic(cond.op, tuple(_substitute_cond(c, mapping) for c in cond.args), cond.pos)


def to_text(node: Expr | Cond) -> str:
    """Render ``node`` as plain text that the plain-text parser reads back to the same tree."""
    match node:
        case Num(value=v):
            if v.denominator == 1:
                return str(v.numerator)
            as_float = float(v)
            if Fraction(repr(as_float)) == v:
                return repr(as_float)
            return f"({v.numerator}/{v.denominator})"
        case Sym(name=name):
            return name
        case Neg(arg=a):
            return f"-({to_text(a)})"
        case BinOp(op=op, left=a, right=b):
            return f"({to_text(a)} {op} {to_text(b)})"
        case Call(func=f, args=args):
            return f"{f}({', '.join(to_text(a) for a in args)})"
        case Compare(op=op, left=a, right=b):
            return f"{to_text(a)} {op} {to_text(b)}"
        case Logic(op=op, args=args):
            return f" {op} ".join(f"({to_text(a)})" for a in args)
        case Piecewise(pieces=pieces):
            parts = []
            for value, cond in pieces:
                parts.append(f"({to_text(value)}, {'True' if cond is None else to_text(cond)})")
            return f"Piecewise({', '.join(parts)})"
        case Sum(body=body, index=index, lo=lo, hi=hi):
            return f"sum({to_text(body)}, {index}, {to_text(lo)}, {to_text(hi)})"
    raise TypeError(f"not an expression node: {node!r}")
