"""Forward and reverse passes over a tape, with a student's own values written in where given.

``overrides`` map a slot to a value that replaces what the pass computed there (a submitted
``h1`` in the forward pass, a submitted ``dL/dz3`` in the reverse pass); what the pass computed
just before replacing it is recorded, and is the follow-through expectation for that quantity.
``hook`` lets the mistake search swap one local rule for a wrong one; the plain key passes none.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from grader.solver.tape import ADD, CALL, COPY, DIV, MUL, NEG, PIECE, POW, SUB, Step, Tape

ForwardHook = Callable[[Step, list[float]], float | None]
BackwardHook = Callable[[Step, list[float]], tuple[float, ...] | None]


def _safe_value(step: Step, v: list[float]) -> float:
    try:
        return float(step.fn(*[v[a] for a in step.args]))
    except (ValueError, ZeroDivisionError, OverflowError):
        return math.nan


def forward(tape: Tape, leaf_values: Mapping[int, float] | None = None,
            overrides: Mapping[int, float] | None = None, recorded: dict[int, float] | None = None,
            hook: ForwardHook | None = None) -> list[float]:
    """Return every slot's value. Where a slot is overridden its computed value goes to ``recorded``."""
    v = list(tape.init)
    if leaf_values:
        for slot, value in leaf_values.items():
            v[slot] = value
    if hook is None:  # the fast path; a math error anywhere falls back to the guarded one below
        start = list(v)
        try:
            if overrides is None:
                for step in tape.steps:
                    v[step.slot] = step.fn(*[v[a] for a in step.args])
            else:
                for step in tape.steps:
                    slot = step.slot
                    v[slot] = step.fn(*[v[a] for a in step.args])
                    if slot in overrides:
                        if recorded is not None:
                            recorded[slot] = v[slot]
                        v[slot] = overrides[slot]
            return v
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            v = start
    for step in tape.steps:
        swapped = hook(step, v) if hook is not None else None
        v[step.slot] = _safe_value(step, v) if swapped is None else swapped
        if overrides is not None and step.slot in overrides:
            if recorded is not None:
                recorded[step.slot] = v[step.slot]
            v[step.slot] = overrides[step.slot]
    return v


def partials(step: Step, v: list[float]) -> tuple[float, ...]:
    """Local derivatives of ``step``'s output with respect to each of its arguments."""
    k, a = step.kind, step.args
    if k == ADD:
        return (1.0, 1.0)
    if k == SUB:
        return (1.0, -1.0)
    if k == MUL:
        return (v[a[1]], v[a[0]])
    if k == DIV:
        den = v[a[1]]
        if den == 0:
            return (math.nan, math.nan)
        return (1.0 / den, -v[a[0]] / (den * den))
    if k == NEG:
        return (-1.0,)
    if k == COPY:
        return (1.0,)
    if k == POW:
        base, exponent, out = v[a[0]], v[a[1]], v[step.slot]
        try:
            d_base = exponent * base ** (exponent - 1.0) if exponent != 0 else 0.0
        except (ZeroDivisionError, OverflowError):
            d_base = math.nan
        d_exp = out * math.log(base) if base > 0 else 0.0
        if isinstance(d_base, complex):
            d_base = math.nan
        return (d_base, d_exp)
    if k == CALL and step.group:  # softmax with every component present: the Jacobian from the outputs
        out = v[step.slot]
        return (out, *(-out * v[g] for g in step.group))
    if k == CALL:
        assert step.func is not None and step.func.partials is not None
        try:
            return step.func.partials([v[i] for i in a], v[step.slot])
        except (ZeroDivisionError, ValueError, OverflowError):
            return tuple(math.nan for _ in a)
    if k == PIECE:
        chosen = [0.0] * len(a)
        for j in range(0, len(a) - 1, 2):
            if v[a[j]]:
                chosen[j + 1] = 1.0
                return tuple(chosen)
        if len(a) % 2:
            chosen[-1] = 1.0
        return tuple(chosen)
    return tuple(0.0 for _ in a)  # comparisons and logic carry no gradient


def backward(tape: Tape, v: list[float], overrides: Mapping[int, float] | None = None,
             recorded: dict[int, float] | None = None, hook: BackwardHook | None = None) -> list[float]:
    """Return the adjoint of every slot (``dL/dslot``) given forward values ``v``."""
    g = [0.0] * len(v)
    g[tape.loss_slot] = 1.0
    for step in reversed(tape.steps):
        slot = step.slot
        if overrides is not None and slot in overrides:
            if recorded is not None:
                recorded[slot] = g[slot]
            g[slot] = overrides[slot]
        gs = g[slot]
        if gs == 0.0:
            continue
        a = step.args
        k = step.kind
        if hook is None and k <= MUL:  # the common cases, inline for speed
            if k == ADD:
                g[a[0]] += gs
                g[a[1]] += gs
            elif k == SUB:
                g[a[0]] += gs
                g[a[1]] -= gs
            else:
                g[a[0]] += gs * v[a[1]]
                g[a[1]] += gs * v[a[0]]
            continue
        local = hook(step, v) if hook is not None else None
        if local is None:
            local = partials(step, v)
        for arg, d in zip(a, local, strict=True):
            if d:
                g[arg] += gs * d
    if overrides is not None:  # leaves (parameters) are not steps: their adjoints are final only now
        for name in tape.leaves:
            slot = tape.slot_of[name]
            if slot in overrides:
                if recorded is not None:
                    recorded[slot] = g[slot]
                g[slot] = overrides[slot]
    return g
