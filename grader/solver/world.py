"""One evaluation of a network problem: forward, reverse, one descent step, forward again.

The canonical key is a world with no overrides. A student's world writes the student's submitted
values in wherever they were given, so each quantity's expectation there is what follows from the
student's own earlier numbers (follow-through). A mistake's world also swaps one local rule for a
wrong one (see ``grader.grading.mistakes``).
"""

from __future__ import annotations

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
class World:
    tape: Tape
    values: list[float]
    grads: list[float]
    next_values: list[float] | None
    recorded: dict[str, float] = field(default_factory=dict)  # quantity -> computed before an override

    def value(self, q: Quantity) -> float:
        """The world's own value of a quantity: what it computed, before any student value replaced it."""
        if q.name in self.recorded:
            return self.recorded[q.name]
        slot = self.tape.slot_of[q.target]
        if q.kind == "value":
            return self.values[slot]
        if q.kind == "grad":
            return self.grads[slot]
        assert self.next_values is not None
        return self.next_values[slot]


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
    """A student's values by pass and slot: resolved once, used by every world of one submission."""

    fwd: dict[int, float] = field(default_factory=dict)
    bwd: dict[int, float] = field(default_factory=dict)
    next_params: dict[str, float] = field(default_factory=dict)
    next_nodes: dict[int, float] = field(default_factory=dict)

    @classmethod
    def of(cls, problem: NetworkProblem, values: Mapping[str, float]) -> Overrides:
        tape = problem.tape
        assert tape is not None
        out = cls()
        for name, value in values.items():
            q = problem.quantities[name]
            if q.kind == "value":
                if q.target in problem.forward:
                    out.fwd[tape.slot_of[q.target]] = value
            elif q.kind == "grad":
                out.bwd[tape.slot_of[q.target]] = value
            elif q.target in problem.params:
                out.next_params[q.target] = value
            else:
                out.next_nodes[tape.slot_of[q.target]] = value
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
    nxt_params, nxt_nodes = overrides.next_params, overrides.next_nodes
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
    if not with_next or problem.learning_rate is None:
        return world
    eta = problem.learning_rate
    new_leaves = dict(leaves)
    for p in problem.params:
        slot = tape.slot_of[p]
        w = leaves.get(slot, tape.init[slot])
        stepped = update(w, eta, grads[slot])
        if p in nxt_params:
            recorded[f"next.{p}"] = stepped
            stepped = nxt_params[p]
        new_leaves[slot] = stepped
    recorded_slots = {}
    world.next_values = forward(tape, new_leaves, nxt_nodes or None, recorded_slots, forward_hook)
    recorded.update({f"next.{tape.name_of[s]}": v for s, v in recorded_slots.items()})
    return world
