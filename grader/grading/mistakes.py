"""Common mistakes, found from the graph: each is one local rule done wrong.

A mistake swaps a rule of the forward pass (the bias left out of a sum), of the reverse pass (an
activation's derivative left out, ``tanh'`` taken as ``1 - tanh``, the factor 2 of a square
dropped, the wrong input multiplied into a weight gradient) or of the update (the wrong sign, no
learning rate). Each hooked mistake here is evaluated at all its sites at once as a whole world;
``grader.grading.sites`` lists the same rules per step, with the mistakes that name a place (a
value with the wrong sign, a neighbour's value, a swapped weight index, a decimal slip), for the
local search of ``grader.grading.search``. Nothing here is written per problem: which mistakes apply
follows from the operations the problem's graph contains. The catalogue: docs/mistakes.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

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


def derivative_at_output(step: Step, v: list[float]) -> float:
    """``f'(a)`` with ``a = f(z)`` the step's output: the derivative taken at the activation, not at z.

    Read from the function's own partials, so every activation with a derivative has it (elu and leaky
    ReLU too, whose derivatives need their alpha).
    """
    func = step.func
    assert func is not None and func.value is not None and func.partials is not None
    rest = [v[a] for a in step.args[1:]]
    at = v[step.slot]
    try:
        return float(func.partials([at, *rest], float(func.value(at, *rest)))[0])
    except (ValueError, ZeroDivisionError, OverflowError):
        return math.nan


def _activation_mistakes(tape: Tape) -> list[Mistake]:
    by_func: dict[str, set[int]] = {}
    for s in tape.steps:
        if s.kind == CALL and s.func is not None and s.func.activation:
            by_func.setdefault(s.func.name, set()).add(s.slot)
    out: list[Mistake] = []
    for name, slots in sorted(by_func.items()):
        func = FUNCTIONS[name]
        out.append(Mistake(
            "activation_derivative_omitted",
            f"This matches leaving out the derivative of {name} in the chain rule: multiply by {name}'(z).",
            _F({GRAD, NEXT}), backward_hook=_call_hook(slots, lambda s, v: 1.0), sites=_F(slots)))
        out.append(Mistake(
            "activation_for_derivative",
            f"This matches using {name}(z) itself where its derivative {name}'(z) belongs.",
            _F({GRAD, NEXT}), backward_hook=_call_hook(slots, lambda s, v: v[s.slot]), sites=_F(slots)))
        if func.partials is not None:
            out.append(Mistake(
                "derivative_at_activation",
                f"This matches evaluating {name}' at the activation a = {name}(z) instead of at the "
                f"pre-activation z.",
                _F({GRAD, NEXT}), backward_hook=_call_hook(slots, derivative_at_output), sites=_F(slots)))
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


def weight_products(problem: NetworkProblem, tape: Tape) -> dict[int, list[tuple[int, int, int]]]:
    """The weighted sums: sum root -> its products (mul slot, weight position, input slot)."""
    steps_at = _steps(tape)
    param_slots = {tape.slot_of[p] for p in problem.params}
    products: dict[int, list[tuple[int, int, int]]] = {}
    for s in tape.steps:
        if s.kind == MUL:
            for pos in (0, 1):
                if s.args[pos] in param_slots and s.args[1 - pos] not in param_slots:
                    products.setdefault(_sum_root(tape, s.slot, steps_at), []).append((s.slot, pos, s.args[1 - pos]))
    return products


def _weight_mistakes(problem: NetworkProblem, tape: Tape) -> list[Mistake]:
    steps_at = _steps(tape)
    products = weight_products(problem, tape)
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
        Mistake("learning_rate_twice", LEARNING_RATE_SQUARED, _F({NEXT}), update=lambda w, eta, g: w - eta * eta * g),
        Mistake("learning_rate_twice", STEP_DOUBLED, _F({NEXT}), update=lambda w, eta, g: w - 2 * eta * g),
    ]


LEARNING_RATE_SQUARED = "This matches applying the learning rate twice: the step is eta*dL/dw, not eta^2*dL/dw."
STEP_DOUBLED = "This matches taking the step twice: the update is w - eta*dL/dw, not w - 2*eta*dL/dw."


def transposed_partner(problem: NetworkProblem, name: str) -> str | None:
    """For a layer-form weight ``w2_12`` (into unit 1 from unit 2), the weight with its indices swapped."""
    if not problem.layers:
        return None
    found = _WEIGHT.match(name)
    if found is None:
        return None
    layer, j, k = found.group(1), found.group(2) or found.group(4), found.group(3) or found.group(5)
    if j == k:
        return None
    wide = found.group(4) is not None
    partner = f"w{layer}_{k}_{j}" if wide else f"w{layer}_{k}{j}"
    if partner not in problem.params:
        partner = f"w{layer}_{k}{j}" if wide else f"w{layer}_{k}_{j}"  # a square layer next to a wide one
    return partner if partner in problem.params else None


_WEIGHT = re.compile(r"^w(\d+)_(?:(\d)(\d)|(\d+)_(\d+))$")


def _transposed_mistake(problem: NetworkProblem, tape: Tape) -> list[Mistake]:
    """Every weight read with its indices swapped in the reverse pass (W where W transposed belongs)."""
    swap: dict[int, tuple[int, int]] = {}  # mul slot -> (position of the weight, slot of its partner)
    for s in tape.steps:
        if s.kind != MUL:
            continue
        for pos in (0, 1):
            name = tape.name_of.get(s.args[pos])
            partner = transposed_partner(problem, name) if name in problem.params else None
            if name is not None and partner is not None:
                swap[s.slot] = (pos, tape.slot_of[partner])
    if not swap:
        return []

    def hook(step: Step, v: list[float]) -> tuple[float, ...] | None:
        if step.slot not in swap:
            return None
        pos, partner = swap[step.slot]
        local = [v[step.args[1]], v[step.args[0]]]
        local[1 - pos] = v[partner]  # the other argument's partial is the weight: the partner's value instead
        return (local[0], local[1])

    return [Mistake("transposed_weight", TRANSPOSED, _F({GRAD, NEXT}), backward_hook=hook, sites=_F(swap))]


TRANSPOSED = ("This matches swapping a weight's indices: w_jk (into unit j from unit k) was used where w_kj "
              "belongs.")


def upstream(problem: NetworkProblem) -> list[int]:
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


SIGN_ERROR = Mistake("sign_error", "The size is right but the sign is wrong.", _F({VALUE, GRAD, NEXT}))

# Mistakes found only by the local search (grader.grading.sites): their sentence names the place.
VALUE_WRONG_SIGN = Mistake("value_wrong_sign", "This matches using a given value or weight with the wrong sign.",
                           _F({VALUE, GRAD, NEXT}))
NEIGHBOUR_VALUE = Mistake("neighbour_value", "This matches using a neighbouring value where another belongs.",
                          _F({VALUE, GRAD, NEXT}))
DECIMAL_SLIP = Mistake("decimal_slip", "This matches a decimal slip: a value off by a factor of 10, 100 or 1000.",
                       _F({VALUE, GRAD, NEXT}))
PATH_OMITTED = Mistake("path_omitted", "This matches keeping one path of a node that feeds several: the gradient "
                       "sums over all of them.", _F({GRAD, NEXT}))
TRANSPOSED_WEIGHT = Mistake("transposed_weight", TRANSPOSED, _F({VALUE, GRAD, NEXT}))
WRONG_INPUT_AT = Mistake("wrong_input", "This matches multiplying by the wrong input: dL/dw uses the input that "
                         "this weight multiplies.", _F({GRAD, NEXT}))
WRONG_TARGET = Mistake("wrong_target", "This matches taking the loss's derivative with the wrong target.",
                       _F({GRAD, NEXT}))


def mistakes_for(problem: NetworkProblem) -> list[Mistake]:
    """Every mistake that can happen in this problem's graph, most specific first."""
    cached: list[Mistake] | None = problem.cache.get("mistakes")
    if cached is not None:
        return cached
    tape = problem.tape
    assert tape is not None
    found = [*_update_mistakes(problem), *_activation_mistakes(tape), *_power_mistakes(tape),
             *_weight_mistakes(problem, tape), *_transposed_mistake(problem, tape), *_subtraction_mistake(tape),
             *_forward_mistakes(problem, tape)]
    problem.cache["mistakes"] = found
    return found


CATALOGUE = (
    "activation_derivative_omitted", "activation_for_derivative", "derivative_at_activation",
    "tanh_derivative_not_squared", "missing_factor_2", "inner_derivative_sign", "wrong_input",
    "pre_activation_as_input", "transposed_weight", "path_omitted", "wrong_target", "bias_omitted",
    "sigmoid_exponent_sign", "log10_for_ln", "value_wrong_sign", "neighbour_value", "decimal_slip",
    "update_wrong_sign", "learning_rate_omitted", "learning_rate_twice", "sign_error",
)
