"""Compile a graph of named scalar expressions into a tape of primitive operations.

Every leaf (given or parameter), every named node and every operation inside a node's expression
gets a slot. A named node owns the slot of its expression's root, so the adjoint of that slot after
the reverse pass is ``dL/d(node)``, and a value written into it (a student's own number) flows on
to everything downstream. Steps are in topological order.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from grader.expr import library
from grader.expr.nodes import BinOp, Call, Compare, Cond, Expr, Neg, Num, Piecewise, Sum, Sym

# Operation kinds.
ADD, SUB, MUL, DIV, POW, NEG, CALL, COPY, PIECE, CMP, AND, OR = range(12)

_CMP: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}


def _pow(a: float, b: float) -> float:
    result = a ** b
    if isinstance(result, complex):
        raise ValueError("a negative number to a fractional power")
    return float(result)


def _piece(*args: float) -> float:
    # args: cond1, value1, cond2, value2, ..., [default]
    for k in range(0, len(args) - 1, 2):
        if args[k]:
            return args[k + 1]
    if len(args) % 2:
        return args[-1]
    raise ValueError("no case of the piecewise expression applies")


_BINARY: dict[str, tuple[int, Callable[[float, float], float]]] = {
    "+": (ADD, operator.add), "-": (SUB, operator.sub), "*": (MUL, operator.mul),
    "/": (DIV, operator.truediv), "^": (POW, _pow),
}


@dataclass(slots=True)
class Step:
    slot: int
    kind: int
    fn: Callable[..., float]
    args: tuple[int, ...]
    func: library.Function | None = None  # for CALL
    cmp: str = ""  # for CMP
    group: tuple[int, ...] = ()  # softmax: the output slot of each component, so the Jacobian reads them


@dataclass
class Tape:
    """A compiled graph. ``init`` holds leaf and constant values; steps fill in the rest."""

    init: list[float]
    steps: list[Step]
    slot_of: dict[str, int]  # leaf and node names -> slot
    leaves: tuple[str, ...]
    nodes: tuple[str, ...]  # named nodes in topological order
    loss_slot: int
    name_of: dict[int, str] = field(default_factory=dict)
    consumers: dict[int, list[int]] = field(default_factory=dict)  # slot -> indices of steps using it


class _Compiler:
    def __init__(self, leaves: Mapping[str, float]) -> None:
        self.init: list[float] = []
        self.steps: list[Step] = []
        self.slot_of: dict[str, int] = {}
        for name, value in leaves.items():
            self.slot_of[name] = self._new(float(value))

    def _new(self, value: float = math.nan) -> int:
        self.init.append(value)
        return len(self.init) - 1

    def _emit(self, kind: int, fn: Callable[..., float], args: Sequence[int],
              func: library.Function | None = None, cmp: str = "") -> int:
        slot = self._new()
        self.steps.append(Step(slot, kind, fn, tuple(args), func, cmp))
        return slot

    def named(self, name: str, expr: Expr) -> None:
        slot = self.expr(expr)
        if slot in self.slot_of.values() or not self.steps or self.steps[-1].slot != slot:
            slot = self._emit(COPY, float, (slot,))  # a node of its own, even for ``h: z`` or ``c: 2``
        self.slot_of[name] = slot

    def expr(self, node: Expr) -> int:
        match node:
            case Num(value=v):
                return self._new(float(v))
            case Sym(name=name):
                if name in self.slot_of:
                    return self.slot_of[name]
                if name in library.CONSTANTS:
                    return self._new(library.CONSTANTS[name])
                raise KeyError(name)
            case Neg(arg=a):
                return self._emit(NEG, operator.neg, (self.expr(a),))
            case BinOp(op=op, left=a, right=b):
                kind, fn = _BINARY[op]
                return self._emit(kind, fn, (self.expr(a), self.expr(b)))
            case Call(func=name, args=args):
                func = library.FUNCTIONS[name]
                if func.value is None:
                    raise ValueError(f"{name}() cannot be evaluated numerically")
                arg_slots = [self.expr(a) for a in args]
                arg_slots += [self._new(d) for d in func.defaults[len(args) - func.min_args:]]
                return self._emit(CALL, func.value, arg_slots, func)
            case Piecewise(pieces=pieces):
                slots: list[int] = []
                for value, cond in pieces:
                    if cond is not None:
                        slots.append(self.cond(cond))
                    slots.append(self.expr(value))
                return self._emit(PIECE, _piece, slots)
            case Sum():
                raise ValueError("sum(...) cannot be used here; write the terms out")
        raise TypeError(f"cannot compile {node!r}")

    def cond(self, node: Cond) -> int:
        if isinstance(node, Compare):
            check = _CMP[node.op]
            return self._emit(CMP, lambda a, b: float(check(a, b)), (self.expr(node.left), self.expr(node.right)),
                              cmp=node.op)
        parts = [self.cond(c) for c in node.args]
        if node.op == "and":
            return self._emit(AND, lambda *xs: float(all(xs)), parts)
        return self._emit(OR, lambda *xs: float(any(xs)), parts)


def _group_softmax(steps: list[Step]) -> None:
    """Link the components of one softmax, so its Jacobian a_j*(delta_jk - a_k) uses their outputs.

    A student who carries their own softmax outputs forward computes dL/dz_k = a_k - t_k from
    them; reading the outputs (which hold the student's values in their world) makes that follow.
    """
    groups: dict[tuple[int, ...], dict[int, int]] = {}
    for s in steps:
        if s.kind == CALL and s.func is not None and s.func.name == "softmax":
            groups.setdefault(s.args[1:], {})[s.args[0]] = s.slot
    for s in steps:
        if s.kind == CALL and s.func is not None and s.func.name == "softmax":
            members = groups[s.args[1:]]
            if all(z in members for z in s.args[1:]):
                s.group = tuple(members[z] for z in s.args[1:])


def compile_graph(leaves: Mapping[str, float], nodes: Mapping[str, Expr], order: Sequence[str],
                  loss: str) -> Tape:
    """Compile named ``nodes`` (visited in topological ``order``) over ``leaves``."""
    c = _Compiler(leaves)
    for name in order:
        c.named(name, nodes[name])
    _group_softmax(c.steps)
    consumers: dict[int, list[int]] = {}
    for k, step in enumerate(c.steps):
        for a in step.args:
            consumers.setdefault(a, []).append(k)
    return Tape(
        init=c.init, steps=c.steps, slot_of=c.slot_of, leaves=tuple(leaves), nodes=tuple(order),
        loss_slot=c.slot_of[loss], name_of={s: n for n, s in c.slot_of.items()}, consumers=consumers,
    )


__all__ = ["ADD", "AND", "CALL", "CMP", "COPY", "DIV", "MUL", "NEG", "OR", "PIECE", "POW", "SUB", "Step",
           "Tape", "compile_graph"]
