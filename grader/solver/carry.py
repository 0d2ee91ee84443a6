"""What a student's own world carries: how far rounding can move each value, and what each value rests on.

A student who writes ``h1 = 0.8337`` and goes on from it may have carried ``0.8337`` or the unrounded
number their calculator showed; either is right. So every written number stands for the interval its
digits cover, and every value the student did not write (an unasked node, a gradient on the way) may
have been rounded too. ``carry`` walks the tape of the student's own world once forward, once in
reverse and once forward after the update, and propagates, to first order:

- a *bound*: how far the student's own value of each asked quantity can lie from the world's value
  (computed from the written numbers taken exactly) because of the rounding of what it rests on;
- a *footing*: a bit mask of the written answers the value actually depends on in the student's world.
  A written value cuts what lies upstream of it (downstream uses the written number), and a path
  through a local derivative of zero (a relu that is off, a product with a zero) carries nothing.

The bound of a quantity excludes its own rounding; the judge adds that from the digits written.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from grader.problemset.model import NetworkProblem
from grader.solver.evaluate import _safe_value, partials
from grader.solver.tape import ADD, CALL, COPY, MUL, NEG, SUB, Step, Tape
from grader.solver.world import World

Radius = Callable[[float], float]  # the rounding a student may have applied to an unwritten value


@dataclass
class Carried:
    bound: dict[str, float] = field(default_factory=dict)  # asked quantity -> first-order bound
    footing: dict[str, int] = field(default_factory=dict)  # asked quantity -> mask over ``written`` (bit k: k-th)


@dataclass
class _Written:
    """A quantity to report; ``radius`` None when the student did not write it (its value flows on)."""

    slot: int
    radius: float | None
    bit: int
    name: str


def carry(problem: NetworkProblem, mine: World, written: Mapping[str, float], radius: Radius,
          wanted: set[str]) -> Carried:
    """Bounds and footings for the quantities in ``wanted``, in the student's world ``mine``.

    ``written`` maps each answered quantity (in the order that numbers its bits) to the half-width of
    the interval its digits stand for (0 for an exact value); ``radius`` gives the rounding allowed
    for a value the student computed but did not write.
    """
    tape = problem.tape
    assert tape is not None
    quantities = problem.quantities
    fwd: dict[int, _Written] = {}
    bwd: dict[int, _Written] = {}
    nxt_params: dict[str, _Written] = {}
    nxt_nodes: dict[int, _Written] = {}
    for k, (name, r) in enumerate(written.items()):
        q = quantities[name]
        if q.kind == "value":
            if q.target in problem.forward:
                slot = tape.slot_of[q.target]
                fwd[slot] = _Written(slot, r, 1 << k, name)
        elif q.kind == "grad":
            slot = tape.slot_of[q.target]
            bwd[slot] = _Written(slot, r, 1 << k, name)
        elif q.target in problem.params:
            nxt_params[q.target] = _Written(tape.slot_of[q.target], r, 1 << k, name)
        else:
            slot = tape.slot_of[q.target]
            nxt_nodes[slot] = _Written(slot, r, 1 << k, name)
    for name in wanted:  # quantities to report that were not written: their values flow on
        if name in written:
            continue
        q = quantities[name]
        if q.kind == "value" and q.target in problem.forward:
            fwd[tape.slot_of[q.target]] = _Written(tape.slot_of[q.target], None, 0, name)
        elif q.kind == "grad":
            bwd[tape.slot_of[q.target]] = _Written(tape.slot_of[q.target], None, 0, name)
        elif q.kind == "next" and q.target in problem.forward:
            nxt_nodes[tape.slot_of[q.target]] = _Written(tape.slot_of[q.target], None, 0, name)
    out = Carried()
    named = set(tape.name_of)
    size = len(tape.init)
    loss = problem.loss

    def keep(name: str, bound: float, mask: int) -> None:
        if name in wanted:
            out.bound[name] = bound
            out.footing[name] = mask

    # forward: the student's values
    e, m = [0.0] * size, [0] * size
    _forward(tape, mine.values, e, m, fwd, named, radius, lambda w, b, mk: keep(w.name, b, mk))
    for name in wanted:
        q = quantities[name]
        if q.kind == "value" and q.target not in problem.forward:
            keep(name, 0.0, 0)  # a given or parameter: exact
    # reverse: the student's gradients, whose local derivatives read the values above
    if not mine.grads:
        return out
    eg, mg = _backward(tape, mine, e, m, bwd, named, radius, loss,
                       lambda w, b, mk: keep(w.name, b, mk))
    if mine.next_values is None or problem.learning_rate is None:
        return out
    # the update, then forward again from the updated parameters
    eta = problem.learning_rate
    e2, m2 = [0.0] * size, [0] * size
    for p in problem.params:
        slot = tape.slot_of[p]
        bound, mask = eta * eg[slot], mg[slot]
        w = nxt_params.get(p)
        if w is not None and w.radius is not None:
            keep(w.name, bound, mask)
            e2[slot], m2[slot] = w.radius, w.bit
        else:  # not written: the student's next value flows on, maybe rounded
            keep(f"next.{p}", bound, mask)
            e2[slot], m2[slot] = bound + radius(mine.next_values[slot]), mask
    _forward(tape, mine.next_values, e2, m2, nxt_nodes, named, radius,
             lambda w, b, mk: keep(w.name, b, mk))
    for name in wanted:
        q = quantities[name]
        if q.kind == "next" and name not in out.bound:
            slot = tape.slot_of[q.target]
            keep(name, e2[slot], m2[slot])
    return out


def _usable(d: float) -> bool:
    return d != 0.0 and not math.isnan(d)


def _forward(tape: Tape, v: list[float], e: list[float], m: list[int], written: dict[int, _Written],
             named: set[int], radius: Radius, found: Callable[[_Written, float, int], None]) -> None:
    """Propagate bounds ``e`` and footings ``m`` through the forward steps (leaves already set)."""
    for step in tape.steps:
        slot = step.slot
        acc, mask = 0.0, 0
        local: tuple[float, ...] | None = None
        w = written.get(slot)
        for i, a in enumerate(step.args):
            if e[a] or m[a]:
                if local is None:
                    if w is None or w.radius is None:
                        local = _local(step, v)
                    else:  # the derivative at the value computed here, not at the number written over it
                        written_value = v[slot]
                        v[slot] = _safe_value(step, v)
                        local = _local(step, v)
                        v[slot] = written_value
                d = local[i]
                if _usable(d):
                    acc += abs(d) * e[a]
                    mask |= m[a]
        if w is not None:
            found(w, acc, mask)
        if w is not None and w.radius is not None:
            e[slot], m[slot] = w.radius, w.bit
        else:
            e[slot] = acc + radius(v[slot]) if slot in named else acc
            m[slot] = mask


def _local(step: Step, v: list[float]) -> tuple[float, ...]:
    k = step.kind
    if k == ADD:
        return (1.0, 1.0)
    if k == SUB:
        return (1.0, -1.0)
    if k == MUL:
        return (v[step.args[1]], v[step.args[0]])
    return partials(step, v)


def _backward(tape: Tape, mine: World, e: list[float], m: list[int], written: dict[int, _Written],
              named: set[int], radius: Radius, loss: str,
              found: Callable[[_Written, float, int], None]) -> tuple[list[float], list[int]]:
    """Propagate bounds and footings of the adjoints; a local derivative also carries its inputs' bounds."""
    v, g = mine.values, mine.grads
    size = len(v)
    eg, mg = [0.0] * size, [0] * size
    loss_slot = tape.loss_slot
    for step in reversed(tape.steps):
        slot = step.slot
        w = written.get(slot)
        if w is not None:
            found(w, eg[slot], mg[slot])
        if w is not None and w.radius is not None:
            eg[slot], mg[slot] = w.radius, w.bit
        elif slot in named and slot != loss_slot:
            eg[slot] += radius(g[slot])
        gs, es, ms = g[slot], eg[slot], mg[slot]
        k = step.kind
        if k in (ADD, SUB, NEG, COPY):  # constant local derivatives: only the adjoint's own bound flows
            if es or ms:
                for a in step.args:
                    eg[a] += es
                    mg[a] |= ms
            continue
        inputs_carry = any(e[a] or m[a] for a in step.args) or (step.group and any(e[x] or m[x] for x in step.group))
        if not (es or ms or (gs and inputs_carry)):
            continue
        local = _local(step, v)
        shifts = _derivative_bounds(step, v, e, local) if gs and inputs_carry else None
        reads = _derivative_footing(step, m) if gs else 0
        for i, a in enumerate(step.args):
            d = local[i]
            if _usable(d):
                eg[a] += abs(d) * es
                mg[a] |= ms
            if shifts is not None:
                eg[a] += abs(gs) * shifts[i]
            if k == MUL:
                mg[a] |= m[step.args[1 - i]] if gs else 0
            else:
                mg[a] |= reads
    for name in tape.leaves:  # parameters and givens: their adjoints are final only now
        slot = tape.slot_of[name]
        w = written.get(slot)
        if w is not None:
            found(w, eg[slot], mg[slot])
        if w is not None and w.radius is not None:
            eg[slot], mg[slot] = w.radius, w.bit
        else:
            eg[slot] += radius(g[slot])
    return eg, mg


def _derivative_footing(step: Step, m: list[int]) -> int:
    """What the step's local derivatives read: its inputs and output, as far as the rule uses them."""
    if step.group:
        mask = m[step.slot]
        for x in step.group:
            mask |= m[x]
        return mask
    if step.kind != CALL or step.func is None:
        mask = m[step.slot]
        for a in step.args:
            mask |= m[a]
        return mask
    args_read, out_read = _reads(step)
    mask = m[step.slot] if out_read else 0
    for a, read in zip(step.args, args_read, strict=True):
        if read:
            mask |= m[a]
    return mask


_READS: dict[tuple[str, int], tuple[tuple[bool, ...], bool]] = {}


def _reads(step: Step) -> tuple[tuple[bool, ...], bool]:
    """Which of a function's inputs, and whether its output, its local derivatives read (probed once)."""
    func = step.func
    assert func is not None and func.partials is not None
    found = _READS.get((func.name, len(step.args)))
    if found is None:
        point = [0.37 + 0.11 * k for k in range(len(step.args))]
        try:
            out = float(func.value(*point)) if func.value is not None else 0.5
            base = func.partials(point, out)
            reads = []
            for k in range(len(point)):
                moved = list(point)
                moved[k] += 0.013
                reads.append(func.partials(moved, out) != base)
            found = (tuple(reads), func.partials(point, out + 0.013) != base)
        except (ValueError, ZeroDivisionError, OverflowError):
            found = (tuple(True for _ in step.args), True)
        _READS[(func.name, len(step.args))] = found
    return found


def _derivative_bounds(step: Step, v: list[float], e: list[float], local: tuple[float, ...]) -> list[float]:
    """How far each local derivative can move when its inputs move within their bounds (first order)."""
    args = step.args
    out = [0.0] * len(args)
    if step.kind == MUL:
        out[0], out[1] = e[args[1]], e[args[0]]
        return out
    slot = step.slot
    if step.group:  # softmax: d_0 = a, d_k = -a*a_k, read from the outputs
        a = v[slot]
        out[0] = e[slot]
        for k, x in enumerate(step.group, start=1):
            out[k] = e[slot] * abs(v[x]) + abs(a) * e[x]
        return out
    for a in args:
        r = e[a]
        if not r:
            continue
        before, produced = v[a], v[slot]
        worst = [0.0] * len(args)
        for shifted in (before + r, before - r):
            v[a] = shifted
            v[slot] = _safe_value(step, v)
            moved = _local(step, v)
            for i in range(len(args)):
                diff = abs(moved[i] - local[i])
                if diff > worst[i]:
                    worst[i] = diff
        v[a], v[slot] = before, produced
        for i in range(len(args)):
            out[i] += worst[i]
    return [x if math.isfinite(x) else math.inf for x in out]
