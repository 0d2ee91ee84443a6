"""Common mistakes, found from the graph: each is one local rule done wrong.

A mistake swaps a rule of the forward pass (the bias left out of a sum), of the reverse pass (an
activation's derivative left out, ``tanh'`` taken as ``1 - tanh``, the factor 2 of a square
dropped, the wrong input multiplied into a weight gradient) or of the update (the wrong sign, no
learning rate). The grader evaluates the student's own world under each applicable swap; a wrong
answer that matches one is named by it. Nothing here is written per problem: which mistakes apply
follows from the operations the problem's graph contains.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from grader.expr.library import FUNCTIONS
from grader.problemset.model import NetworkProblem
from grader.solver.evaluate import BackwardHook, ForwardHook, partials
from grader.solver.tape import ADD, CALL, MUL, POW, SUB, Step, Tape
from grader.solver.world import UpdateRule

VALUE, GRAD, NEXT = "value", "grad", "next"


@dataclass(frozen=True)
class Mistake:
    name: str
    explanation: str  # one sentence a student understands
    kinds: frozenset[str]  # the kinds of quantity it can explain
    forward_hook: ForwardHook | None = None
    backward_hook: BackwardHook | None = None
    update: UpdateRule | None = None
    sites: frozenset[int] = frozenset()  # the steps where the rule can go wrong

    def variants(self) -> list[frozenset[int]]:
        """Where to try the mistake: everywhere it can happen, then at each single place.

        A student may slip at one place only (the output's bias left out, the hidden ones kept),
        and the quantities they did not write down then still follow the right rule elsewhere.
        """
        out = [self.sites]
        if 1 < len(self.sites) <= MAX_SINGLE_SITES:  # one slip among a few places; not among dozens
            out += [frozenset({s}) for s in sorted(self.sites)]
        return out

    def hooks(self, where: frozenset[int]) -> tuple[ForwardHook | None, BackwardHook | None]:
        """The forward and backward hooks, acting only at the steps in ``where``."""
        if where == self.sites:
            return self.forward_hook, self.backward_hook
        return _only(self.forward_hook, where), _only(self.backward_hook, where)


MAX_SINGLE_SITES = 8


_Hook = TypeVar("_Hook", ForwardHook, BackwardHook)


def _only(hook: _Hook | None, where: frozenset[int]) -> _Hook | None:
    if hook is None:
        return None
    inner: Callable[[Step, list[float]], Any] = hook

    def restricted(step: Step, v: list[float]) -> Any:
        return inner(step, v) if step.slot in where else None

    return cast(_Hook, restricted)


_F = frozenset


def _steps(tape: Tape) -> dict[int, Step]:
    return {s.slot: s for s in tape.steps}


def _call_hook(slots: set[int], rule: Callable[[Step, list[float]], float]) -> BackwardHook:
    def hook(step: Step, v: list[float]) -> tuple[float, ...] | None:
        if step.slot not in slots:
            return None
        local = list(partials(step, v))
        local[0] = rule(step, v)
        return tuple(local)
    return hook


def _derivative_at_output(deriv: Callable[[float], float]) -> Callable[[Step, list[float]], float]:
    return lambda s, v: deriv(v[s.slot])


def _activation_mistakes(tape: Tape) -> list[Mistake]:
    by_func: dict[str, set[int]] = {}
    for s in tape.steps:
        if s.kind == CALL and s.func is not None and s.func.activation:
            by_func.setdefault(s.func.name, set()).add(s.slot)
    out: list[Mistake] = []
    for name, slots in sorted(by_func.items()):
        func = FUNCTIONS[name]
        deriv = func.derivative_of_input
        out.append(Mistake(
            "activation_derivative_omitted",
            f"This matches leaving out the derivative of {name} in the chain rule: multiply by {name}'(z).",
            _F({GRAD, NEXT}), backward_hook=_call_hook(slots, lambda s, v: 1.0), sites=_F(slots)))
        out.append(Mistake(
            "activation_for_derivative",
            f"This matches using {name}(z) itself where its derivative {name}'(z) belongs.",
            _F({GRAD, NEXT}), backward_hook=_call_hook(slots, lambda s, v: v[s.slot]), sites=_F(slots)))
        if deriv is not None:
            out.append(Mistake(
                "derivative_at_activation",
                f"This matches evaluating {name}' at the activation a = {name}(z) instead of at the "
                f"pre-activation z.",
                _F({GRAD, NEXT}), backward_hook=_call_hook(slots, _derivative_at_output(deriv)), sites=_F(slots)))
        if name == "tanh":
            out.append(Mistake(
                "tanh_derivative_not_squared",
                "This matches writing tanh'(z) as 1 - tanh(z); the derivative is 1 - tanh(z)^2.",
                _F({GRAD, NEXT}), backward_hook=_call_hook(slots, lambda s, v: 1.0 - v[s.slot]), sites=_F(slots)))
    return out


def _power_mistakes(tape: Tape) -> list[Mistake]:
    steps_at = _steps(tape)
    squares = {s.slot for s in tape.steps
               if s.kind == POW and s.args[1] not in steps_at and tape.init[s.args[1]] == 2.0
               and s.args[1] not in tape.name_of}
    if not squares:
        return []

    def hook(step: Step, v: list[float]) -> tuple[float, ...] | None:
        if step.slot not in squares:
            return None
        return (v[step.args[0]], 0.0)

    return [Mistake("missing_factor_2",
                    "This matches differentiating a square without its factor 2: d/dr r^2 = 2r.",
                    _F({GRAD, NEXT}), backward_hook=hook, sites=_F(squares))]


def _subtraction_mistake(tape: Tape) -> list[Mistake]:
    subs = {s.slot for s in tape.steps if s.kind == SUB}
    if not subs:
        return []

    def hook(step: Step, v: list[float]) -> tuple[float, ...] | None:
        return (1.0, 1.0) if step.slot in subs else None

    return [Mistake("inner_derivative_sign",
                    "This matches losing the minus sign of an inner derivative: d/dp (y - p) = -1.",
                    _F({GRAD, NEXT}), backward_hook=hook, sites=_F(subs))]


def _sum_root(tape: Tape, slot: int, steps_at: dict[int, Step]) -> int:
    """The slot at the top of the chain of additions that ``slot`` feeds (its neuron's pre-activation)."""
    while slot not in tape.name_of:
        users = tape.consumers.get(slot, [])
        if len(users) != 1 or tape.steps[users[0]].kind not in (ADD, SUB):
            break
        slot = tape.steps[users[0]].slot
    return slot


def _weight_mistakes(problem: NetworkProblem, tape: Tape) -> list[Mistake]:
    steps_at = _steps(tape)
    param_slots = {tape.slot_of[p] for p in problem.params}
    products: dict[int, list[tuple[int, int, int]]] = {}  # sum root -> (mul slot, weight position, input slot)
    for s in tape.steps:
        if s.kind == MUL:
            for pos in (0, 1):
                if s.args[pos] in param_slots and s.args[1 - pos] not in param_slots:
                    products.setdefault(_sum_root(tape, s.slot, steps_at), []).append((s.slot, pos, s.args[1 - pos]))
    out: list[Mistake] = []
    for shift in (1, 2):
        swap: dict[int, tuple[int, int]] = {}
        for group in products.values():
            if len(group) > shift:
                for i, (mul, pos, _) in enumerate(group):
                    swap[mul] = (pos, group[(i + shift) % len(group)][2])
        if swap:
            out.append(Mistake(
                "wrong_input",
                "This matches multiplying by the wrong input: dL/dw uses the input that this weight multiplies.",
                _F({GRAD, NEXT}), backward_hook=_swap_hook(swap), sites=_F(swap)))
    pre: dict[int, tuple[int, int]] = {}
    for group in products.values():
        for mul, pos, inp in group:
            step = steps_at.get(inp)
            if step is not None and step.kind == CALL and step.func is not None and step.func.activation:
                pre[mul] = (pos, step.args[0])
    if pre:
        out.append(Mistake(
            "pre_activation_as_input",
            "This matches multiplying by the pre-activation z where the weight multiplies the activation a = f(z).",
            _F({GRAD, NEXT}), backward_hook=_swap_hook(pre), sites=_F(pre)))
    return out


def _swap_hook(swap: dict[int, tuple[int, int]]) -> BackwardHook:
    def hook(step: Step, v: list[float]) -> tuple[float, ...] | None:
        if step.slot not in swap:
            return None
        pos, other = swap[step.slot]
        local = [v[step.args[1]], v[step.args[0]]]
        local[pos] = v[other]
        return (local[0], local[1])
    return hook


def _forward_mistakes(problem: NetworkProblem, tape: Tape) -> list[Mistake]:
    out: list[Mistake] = []
    param_slots = {tape.slot_of[p] for p in problem.params}
    biased = {s.slot: s.args for s in tape.steps
              if s.kind == ADD and (s.args[0] in param_slots) != (s.args[1] in param_slots)}
    if biased:
        def drop_bias(step: Step, v: list[float]) -> float | None:
            args = biased.get(step.slot)
            if args is None:
                return None
            return v[args[0]] if args[1] in param_slots else v[args[1]]
        out.append(Mistake("bias_omitted", "This matches leaving the bias out of the weighted sum.",
                           _F({VALUE, GRAD, NEXT}), forward_hook=drop_bias, sites=_F(biased)))
    sig = {s.slot for s in tape.steps if s.kind == CALL and s.func is not None and s.func.name == "sigmoid"}
    if sig:
        def flipped(step: Step, v: list[float]) -> float | None:
            return 1.0 - step.fn(v[step.args[0]]) if step.slot in sig else None
        out.append(Mistake("sigmoid_exponent_sign",
                           "This matches computing the sigmoid as 1/(1 + e^z); it is 1/(1 + e^(-z)).",
                           _F({VALUE, GRAD, NEXT}), forward_hook=flipped, sites=_F(sig)))
    logs = {s.slot for s in tape.steps if s.kind == CALL and s.func is not None and s.func.name == "log"}
    if logs:
        def log10(step: Step, v: list[float]) -> float | None:
            if step.slot not in logs:
                return None
            x = v[step.args[0]]
            return math.log10(x) if x > 0 else math.nan
        out.append(Mistake("log10_for_ln", "This matches using log base 10; the loss uses the natural log ln.",
                           _F({VALUE, GRAD, NEXT}), forward_hook=log10, sites=_F(logs)))
    return out


def _update_mistakes(problem: NetworkProblem) -> list[Mistake]:
    if problem.learning_rate is None:
        return []
    return [
        Mistake("update_wrong_sign",
                "This matches stepping uphill: the update is w - eta*dL/dw, not w + eta*dL/dw.",
                _F({NEXT}), update=lambda w, eta, g: w + eta * g),
        Mistake("learning_rate_omitted",
                "This matches leaving out the learning rate: the step is eta*dL/dw, not dL/dw.",
                _F({NEXT}), update=lambda w, eta, g: w - g),
    ]


def _upstream(problem: NetworkProblem) -> list[int]:
    """For each slot, a bitset of the slots its value is computed from (itself included)."""
    cached: list[int] | None = problem.cache.get("upstream")
    if cached is None:
        tape = problem.tape
        assert tape is not None
        cached = [1 << i for i in range(len(tape.init))]
        for step in tape.steps:
            mask = cached[step.slot]
            for a in step.args:
                mask |= cached[a]
            cached[step.slot] = mask
        problem.cache["upstream"] = cached
    return cached


def can_explain(problem: NetworkProblem, m: Mistake, where: frozenset[int], kind: str, target: str) -> bool:
    """Whether a slip at ``where`` can change this quantity at all (a quick test before evaluating)."""
    if kind == NEXT or not where:
        return True
    tape = problem.tape
    assert tape is not None
    up = _upstream(problem)
    slot = tape.slot_of[target]
    if kind == VALUE:  # a forward slip matters only upstream of the node
        return any(up[slot] >> s & 1 for s in where)
    if m.backward_hook is not None:  # a reverse-pass slip matters only on the paths from the target to L
        return any(up[s] >> slot & 1 for s in where)
    return True


SIGN_ERROR = Mistake("sign_error", "The size is right but the sign is wrong.", _F({VALUE, GRAD, NEXT}))


def mistakes_for(problem: NetworkProblem) -> list[Mistake]:
    """Every mistake that can happen in this problem's graph, most specific first."""
    cached: list[Mistake] | None = problem.cache.get("mistakes")
    if cached is not None:
        return cached
    tape = problem.tape
    assert tape is not None
    found = [*_update_mistakes(problem), *_activation_mistakes(tape), *_power_mistakes(tape),
             *_weight_mistakes(problem, tape), *_subtraction_mistake(tape), *_forward_mistakes(problem, tape)]
    problem.cache["mistakes"] = found
    return found


CATALOGUE = (
    "activation_derivative_omitted", "activation_for_derivative", "derivative_at_activation",
    "tanh_derivative_not_squared", "missing_factor_2", "inner_derivative_sign", "wrong_input",
    "pre_activation_as_input", "bias_omitted", "sigmoid_exponent_sign", "log10_for_ln",
    "update_wrong_sign", "learning_rate_omitted", "sign_error",
)
