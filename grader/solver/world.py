"""One evaluation of a network problem: forward, reverse, one descent step, forward again.

The canonical key is a world with no overrides. A student's world writes the student's submitted
values in wherever they were given, so each quantity's expectation there is what follows from the
student's own earlier numbers (follow-through). A mistake's world also swaps one local rule for a
wrong one (see ``grader.grading.mistakes``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from grader.problemset.model import NetworkProblem, Quantity
from grader.problemset.variants import draw, variant_seed
from grader.solver.evaluate import BackwardHook, ForwardHook, backward, forward
from grader.solver.tape import Tape

UpdateRule = Callable[[float, float, float], float]  # (parameter, learning rate, gradient) -> next value


def gradient_step(w: float, eta: float, g: float) -> float:
    return w - eta * g


@dataclass
class After:
    """The world after one update: parameters, optimizer state, the forward pass and (if needed) the reverse."""

    values: list[float]
    grads: list[float] | None = None
    m: dict[int, float] = field(default_factory=dict)  # parameter slot -> first state (momentum's velocity)
    v: dict[int, float] = field(default_factory=dict)  # parameter slot -> second state


@dataclass
class World:
    tape: Tape
    values: list[float]
    grads: list[float]
    next_values: list[float] | None
    recorded: dict[str, float] = field(default_factory=dict)  # quantity -> computed before an override
    after: list[After] = field(default_factory=list)  # after update 1, 2, ...

    def value(self, q: Quantity) -> float:
        """The world's own value of a quantity: what it computed, before any student value replaced it."""
        if q.name in self.recorded:
            return self.recorded[q.name]
        slot = self.tape.slot_of[q.target]
        if q.step == 0:
            if q.kind == "value":
                return self.values[slot]
            return self.grads[slot]
        after = self.after[q.step - 1]
        if q.kind == "next":
            return after.values[slot]
        if q.kind == "grad":  # after the last update only when asked (``gradients_after_last``); else NaN
            return after.grads[slot] if after.grads is not None else math.nan
        return (after.m if q.state == "m" else after.v)[slot]


def variant_leaves(problem: NetworkProblem, set_id: str, student: str | None) -> dict[int, float]:
    """Leaf values (givens and parameters) of one student's variant, by slot."""
    assert problem.tape is not None
    slot_of = problem.tape.slot_of
    if not problem.randomised:
        return {}
    seed = variant_seed(set_id, problem.id, student)
    return {slot_of[n]: draw(v, n, seed) for n, v in (*problem.given.items(), *problem.params.items())}


@dataclass
class Overrides:
    """A student's values by pass and slot: resolved once, used by every world of one submission.

    ``fwd`` and ``bwd`` are the first forward and reverse pass; ``params``, ``nodes``, ``grads`` and
    ``state`` hold, per update K (1, 2, ...), the updated parameters, the forward and reverse pass after
    it, and the optimizer's state (by ``(part, parameter)``).
    """

    fwd: dict[int, float] = field(default_factory=dict)
    bwd: dict[int, float] = field(default_factory=dict)
    params: dict[int, dict[str, float]] = field(default_factory=dict)
    nodes: dict[int, dict[int, float]] = field(default_factory=dict)
    grads: dict[int, dict[int, float]] = field(default_factory=dict)
    state: dict[int, dict[tuple[str, str], float]] = field(default_factory=dict)

    @property
    def next_params(self) -> dict[str, float]:
        return self.params.get(1, {})

    @property
    def next_nodes(self) -> dict[int, float]:
        return self.nodes.get(1, {})

    @classmethod
    def of(cls, problem: NetworkProblem, values: Mapping[str, float]) -> Overrides:
        tape = problem.tape
        assert tape is not None
        out = cls()
        for name, value in values.items():
            q = problem.quantities[name]
            k = q.step
            if q.kind == "value":
                if q.target in problem.forward:
                    out.fwd[tape.slot_of[q.target]] = value
            elif q.kind == "grad":
                (out.grads.setdefault(k, {}) if k else out.bwd)[tape.slot_of[q.target]] = value
            elif q.kind == "state":
                out.state.setdefault(k, {})[(q.state, q.target)] = value
            elif q.target in problem.params:
                out.params.setdefault(k, {})[q.target] = value
            else:
                out.nodes.setdefault(k, {})[tape.slot_of[q.target]] = value
        return out


def solve(problem: NetworkProblem, leaves: Mapping[int, float],
          overrides: Mapping[str, float] | Overrides | None = None, *, forward_hook: ForwardHook | None = None,
          backward_hook: BackwardHook | None = None, update: UpdateRule = gradient_step,
          with_next: bool = True, forward_only: bool = False, base: World | None = None) -> World:
    """Evaluate ``problem``; ``overrides`` maps quantity names to the student's values.

    ``base`` reuses the forward values of an earlier world with the same overrides (a mistake that
    changes only the reverse pass or the update need not redo the forward pass). ``forward_only``
    stops after the forward pass (the world then answers only for node values).
    """
    tape = problem.tape
    assert tape is not None
    if not isinstance(overrides, Overrides):
        overrides = Overrides.of(problem, overrides or {})
    fwd, bwd = overrides.fwd, overrides.bwd
    recorded_slots: dict[int, float] = {}
    if base is not None and forward_hook is None:
        values = base.values
        recorded = {k: v for k, v in base.recorded.items() if problem.quantities[k].kind == "value"}
    else:
        values = forward(tape, leaves, fwd or None, recorded_slots, forward_hook)
        recorded = {tape.name_of[s]: v for s, v in recorded_slots.items()}
    if forward_only:
        return World(tape, values, [], None, recorded)
    if base is not None and forward_hook is None and backward_hook is None:
        grads = base.grads
        recorded.update({k: v for k, v in base.recorded.items() if problem.quantities[k].kind == "grad"})
    else:
        recorded_slots = {}
        grads = backward(tape, values, bwd or None, recorded_slots, backward_hook)
        loss = problem.loss
        recorded.update({f"d{loss}/d{tape.name_of[s]}": v for s, v in recorded_slots.items()})
    world = World(tape, values, grads, None, recorded)
    optimizer = problem.optimizer
    if not with_next or optimizer is None:
        return world
    loss = problem.loss
    sgd_first = optimizer.kind == "sgd" and not optimizer.weight_decay
    if sgd_first and problem.steps == 1 and not problem.gradients_after_last:
        # one plain gradient step, the common homework: no optimizer state, no reverse pass after it
        eta = optimizer.lr
        written_params = overrides.params.get(1, {})
        stepped_leaves = dict(leaves)
        slot_of, init = tape.slot_of, tape.init
        for p in problem.params:
            slot = slot_of[p]
            stepped = update(leaves.get(slot, init[slot]), eta, grads[slot])
            if p in written_params:
                recorded[f"next.{p}"] = stepped
                stepped = written_params[p]
            stepped_leaves[slot] = stepped
        recorded_slots = {}
        after = After(forward(tape, stepped_leaves, overrides.nodes.get(1) or None, recorded_slots, forward_hook))
        recorded.update({f"next.{tape.name_of[s]}": x for s, x in recorded_slots.items()})
        world.after.append(after)
        world.next_values = after.values
        return world
    params = {p: leaves.get(tape.slot_of[p], tape.init[tape.slot_of[p]]) for p in problem.params}
    m = dict.fromkeys(problem.params, 0.0)
    v = dict.fromkeys(problem.params, 0.0)
    new_leaves = dict(leaves)
    for k in range(1, problem.steps + 1):
        prefix = "next." if k == 1 else f"step{k}."
        states = overrides.state.get(k, {})
        written = overrides.params.get(k, {})
        after = After([])
        for p in problem.params:
            slot = tape.slot_of[p]
            if k == 1 and sgd_first:
                stepped, mk, vk = update(params[p], optimizer.lr, grads[slot]), 0.0, 0.0
            else:
                stepped, mk, vk = optimizer.step(params[p], grads[slot], m[p], v[p], k)
            for part, computed in (("m", mk), ("v", vk)):
                if (part, p) in states:
                    recorded[f"{prefix}{part}.{p}"] = computed
            mk, vk = states.get(("m", p), mk), states.get(("v", p), vk)
            if p in written:
                recorded[prefix + p] = stepped
                stepped = written[p]
            params[p], m[p], v[p] = stepped, mk, vk
            after.m[slot], after.v[slot] = mk, vk
            new_leaves[slot] = stepped
        recorded_slots = {}
        nodes = overrides.nodes.get(k)
        after.values = forward(tape, new_leaves, nodes or None, recorded_slots, forward_hook)
        recorded.update({f"{prefix}{tape.name_of[s]}": x for s, x in recorded_slots.items()})
        if k < problem.steps or problem.gradients_after_last:
            recorded_slots = {}
            after.grads = backward(tape, after.values, overrides.grads.get(k) or None, recorded_slots, backward_hook)
            recorded.update({f"{prefix}d{loss}/d{tape.name_of[s]}": x for s, x in recorded_slots.items()})
            grads = after.grads
        world.after.append(after)
    world.next_values = world.after[0].values
    return world
