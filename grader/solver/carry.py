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
from grader.solver.optimizers import Optimizer
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
    fwd: dict[tuple[int, int], _Written] = {}  # (update, slot): values of nodes
    bwd: dict[tuple[int, int], _Written] = {}  # (update, slot): gradients
    updated: dict[tuple[int, str], _Written] = {}  # (update, "" | "m" | "v" + parameter)

    def place(name: str, radius_written: float | None, bit: int) -> None:
        q = quantities[name]
        if q.kind == "value":
            if q.target in problem.forward:
                fwd[(0, tape.slot_of[q.target])] = _Written(tape.slot_of[q.target], radius_written, bit, name)
        elif q.kind == "grad":
            bwd[(q.step, tape.slot_of[q.target])] = _Written(tape.slot_of[q.target], radius_written, bit, name)
        elif q.kind == "state":
            updated[(q.step, q.state + q.target)] = _Written(tape.slot_of[q.target], radius_written, bit, name)
        elif q.target in problem.params:
            updated[(q.step, q.target)] = _Written(tape.slot_of[q.target], radius_written, bit, name)
        else:
            fwd[(q.step, tape.slot_of[q.target])] = _Written(tape.slot_of[q.target], radius_written, bit, name)

    for k, (name, r) in enumerate(written.items()):
        place(name, r, 1 << k)
    for name in wanted:  # quantities to report that were not written: their values flow on
        if name not in written:
            place(name, None, 0)
    out = Carried()
    named = set(tape.name_of)
    size = len(tape.init)

    def keep(w: _Written, bound: float, mask: int) -> None:
        out.bound[w.name] = bound
        out.footing[w.name] = mask

    def at(step: int, table: Mapping[tuple[int, int], _Written]) -> dict[int, _Written]:
        return {slot: w for (k, slot), w in table.items() if k == step}

    # forward: the student's values
    e, m = [0.0] * size, [0] * size
    _forward(tape, mine.values, e, m, at(0, fwd), named, radius, keep)
    for name in wanted:
        q = quantities[name]
        if q.kind == "value" and q.target not in problem.forward:
            out.bound[name], out.footing[name] = 0.0, 0  # a given or parameter: exact
    if not mine.grads:
        return out
    # reverse: the student's gradients, whose local derivatives read the values above
    eg, mg = _backward(tape, mine.values, mine.grads, e, m, at(0, bwd), named, radius, keep)
    optimizer = problem.optimizer
    if optimizer is None or not mine.after:
        return out
    # each update, then the forward (and reverse) pass again from the updated parameters
    weights = {p: (0.0, 0) for p in problem.params}  # bound and footing of each parameter before the update
    state = {(part, p): (0.0, 0) for p in problem.params for part in ("m", "v")}
    values, grads = mine.values, mine.grads
    for k, after in enumerate(mine.after, start=1):
        e2, m2 = [0.0] * size, [0] * size
        for p in problem.params:
            slot = tape.slot_of[p]
            before = mine.after[k - 2] if k > 1 else None
            w0 = values[slot]
            m0 = before.m.get(slot, 0.0) if before else 0.0
            v0 = before.v.get(slot, 0.0) if before else 0.0
            inputs = (w0, grads[slot], m0, v0)
            bounds = (weights[p][0], eg[slot], state[("m", p)][0], state[("v", p)][0])
            masks = (weights[p][1], mg[slot], state[("m", p)][1], state[("v", p)][1])
            moved = _update_bounds(optimizer, inputs, bounds, masks, k, problem.learning_rate is not None)
            for index, (part, value) in enumerate((("", after.values[slot]), ("m", after.m.get(slot, 0.0)),
                                                   ("v", after.v.get(slot, 0.0)))):
                bound, mask = moved[index]
                w = updated.get((k, part + p))
                if w is not None:
                    keep(w, bound, mask)
                if w is not None and w.radius is not None:
                    bound, mask = w.radius, w.bit
                else:
                    bound += radius(value)
                if part:
                    state[(part, p)] = (bound, mask)
                else:
                    weights[p] = (bound, mask)
                    e2[slot], m2[slot] = bound, mask
        _forward(tape, after.values, e2, m2, at(k, fwd), named, radius, keep)
        if after.grads is None:
            break
        eg, mg = _backward(tape, after.values, after.grads, e2, m2, at(k, bwd), named, radius, keep)
        values, grads = after.values, after.grads
    return out


def _update_bounds(optimizer: Optimizer, inputs: tuple[float, float, float, float],
                   bounds: tuple[float, float, float, float], masks: tuple[int, int, int, int], t: int,
                   plain: bool) -> list[tuple[float, int]]:
    """Bounds and footings of the updated ``(w, m, v)`` from those of ``(w, g, m, v)`` before it (first order)."""
    if plain and t == 1:  # w - lr*g
        return [(bounds[0] + optimizer.lr * bounds[1], masks[0] | masks[1]), (0.0, 0), (0.0, 0)]
    base = optimizer.step(*inputs, t)
    out = [(0.0, 0), (0.0, 0), (0.0, 0)]
    for j, r in enumerate(bounds):
        if not r and not masks[j]:
            continue
        h = r if r else max(abs(inputs[j]) * 1e-7, 1e-12)
        moved_up = list(inputs)
        moved_up[j] += h
        moved_down = list(inputs)
        moved_down[j] -= h
        up = optimizer.step(moved_up[0], moved_up[1], moved_up[2], moved_up[3], t)
        down = optimizer.step(moved_down[0], moved_down[1], moved_down[2], moved_down[3], t)
        for i in range(3):
            change = max(abs(up[i] - base[i]), abs(down[i] - base[i]))
            if not math.isfinite(change):
                change = math.inf
            if change > 0:
                bound, mask = out[i]
                out[i] = (bound + (change if r else 0.0), mask | masks[j])
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


def _backward(tape: Tape, v: list[float], g: list[float], e: list[float], m: list[int],
              written: dict[int, _Written], named: set[int], radius: Radius,
              found: Callable[[_Written, float, int], None]) -> tuple[list[float], list[int]]:
    """Propagate bounds and footings of the adjoints; a local derivative also carries its inputs' bounds."""
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
        reads = [False] * len(step.args)
        reads_out = False
        try:  # at points of both signs: a derivative that is constant on each side (relu) still reads its input
            for start in (0.37, -0.61, 2.3, -1.7):
                point = [start + 0.11 * k for k in range(len(step.args))]
                out = float(func.value(*point)) if func.value is not None else 0.5
                base = func.partials(point, out)
                for k in range(len(point)):
                    for moved_to in (point[k] + 0.013, -point[k]):
                        moved = list(point)
                        moved[k] = moved_to
                        reads[k] = reads[k] or func.partials(moved, out) != base
                reads_out = reads_out or func.partials(point, out + 0.013) != base
            found = (tuple(reads), reads_out)
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
