"""Where each catalogued mistake can happen in a problem's tape: one rule done wrong at one step.

The local search (``grader.grading.search``) tests every mistake at every step on the student's own
values. A step's *forward* rules give the value it computes under the mistake, from the values it
reads; its *backward* rules give its local partial derivatives under the mistake. The hooked
mistakes of ``grader.grading.mistakes`` supply their own rule at each of their sites; the mistakes
that name a place (a value with the wrong sign, a neighbour's value, a swapped weight index, a
decimal slip carried forward) are listed here per step, with the sentence that names the place.
The tables depend only on the problem, and are built once per problem.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from grader.grading.mistakes import (
    DECIMAL_SLIP,
    NEIGHBOUR_VALUE,
    TRANSPOSED_WEIGHT,
    VALUE_WRONG_SIGN,
    WRONG_INPUT_AT,
    Mistake,
    mistakes_for,
    transposed_partner,
    weight_products,
)
from grader.problemset.model import NetworkProblem
from grader.solver.evaluate import partials
from grader.solver.tape import MUL, Step, Tape

#: decimal slips: the factors 10^k, k = ±1, ±2, ±3, and how a student is told them
SLIPS: tuple[tuple[float, str], ...] = (
    (10.0, "10 times"), (0.1, "a tenth of"), (100.0, "100 times"), (0.01, "a hundredth of"),
    (1000.0, "1000 times"), (0.001, "a thousandth of"),
)

ValueRule = Callable[[list[float]], float]
PartialsRule = Callable[[list[float]], tuple[float, ...]]


@dataclass(frozen=True, slots=True)
class ForwardRule:
    mistake: Mistake
    explanation: str
    value: ValueRule  # the step's value under the mistake, from the values it reads


@dataclass(frozen=True, slots=True)
class BackwardRule:
    mistake: Mistake
    explanation: str
    partials: PartialsRule  # the step's local partials under the mistake


@dataclass
class Sites:
    index_of: dict[int, int]  # slot -> index of the step computing it
    owner: dict[int, str]  # slot -> the named node whose expression computes it
    forward: dict[int, list[ForwardRule]] = field(default_factory=dict)  # step index -> rules
    backward: dict[int, list[BackwardRule]] = field(default_factory=dict)  # step index -> rules
    targets: list[tuple[int, list[tuple[str, ValueRule]]]] = field(default_factory=list)
    # (target slot, what a student might take for it: (how it reads, its value)), see wrong_target


def _safe(fn: Callable[..., float], args: list[float]) -> float:
    try:
        out = float(fn(*args))
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        return math.nan
    return out


def _replaced(step: Step, pos: int, read: Callable[[list[float]], float]) -> ValueRule:
    """The step's value with its argument at ``pos`` read by ``read`` instead."""
    args, fn = step.args, step.fn

    def value(v: list[float]) -> float:
        return _safe(fn, [read(v) if i == pos else v[a] for i, a in enumerate(args)])
    return value


def _partial_replaced(step: Step, pos: int, read: Callable[[list[float]], float]) -> PartialsRule:
    """The step's partials with the one at ``pos`` (a product's: the other factor) read by ``read``."""
    def local(v: list[float]) -> tuple[float, ...]:
        d = list(partials(step, v))
        d[pos] = read(v)
        return tuple(d)
    return local


def _hook_forward(m: Mistake, step: Step) -> ValueRule:
    hook = m.forward_hook
    assert hook is not None

    def value(v: list[float]) -> float:
        out = hook(step, v)
        return math.nan if out is None else out
    return value


def _hook_backward(m: Mistake, step: Step) -> PartialsRule:
    hook = m.backward_hook
    assert hook is not None

    def local(v: list[float]) -> tuple[float, ...]:
        out = hook(step, v)
        return partials(step, v) if out is None else out
    return local


def _negated(slot: int) -> ValueRule:
    return lambda v: -v[slot]


def _read(slot: int) -> ValueRule:
    return lambda v: v[slot]


def _scaled(slot: int, factor: float) -> ValueRule:
    return lambda v: v[slot] * factor


def _one_minus(slot: int) -> ValueRule:
    return lambda v: 1.0 - v[slot]


def _zero(v: list[float]) -> float:
    return 0.0


def _stem(name: str) -> str:
    found = re.match(r"[^\d_]+", name)
    return found.group(0) if found else name


def neighbours(problem: NetworkProblem) -> dict[str, list[str]]:
    """For each given and parameter, the ones declared next to it with the same letters (w1: w2; x2: x1, x3)."""
    out: dict[str, list[str]] = {}
    for group in (list(problem.params), list(problem.given)):
        by_stem: dict[str, list[str]] = {}
        for name in group:
            by_stem.setdefault(_stem(name), []).append(name)
        for names in by_stem.values():
            for i, name in enumerate(names):
                out[name] = [names[j] for j in (i - 1, i + 1) if 0 <= j < len(names)]
    return out


def _owners(tape: Tape) -> dict[int, str]:
    """Each step's slot -> the named node it belongs to (a node's steps end at its own slot)."""
    named = sorted((slot, name) for name, slot in tape.slot_of.items() if name in tape.nodes)
    out: dict[int, str] = {}
    k = 0
    for step in tape.steps:
        while k < len(named) and named[k][0] < step.slot:
            k += 1
        if k < len(named):
            out[step.slot] = named[k][1]
    return out


def _leaf_rules(problem: NetworkProblem, tape: Tape, step: Step, sites: Sites,
                near: dict[str, list[str]]) -> None:
    """A given or weight read with the wrong sign, a neighbour's value, or (a weight) its indices swapped."""
    leaves = set(problem.params) | set(problem.given)
    targets = {t for t, _ in sites.targets}
    fwd = sites.forward.setdefault(tape_index(sites, step), [])
    bwd = sites.backward.setdefault(tape_index(sites, step), [])
    for pos, arg in enumerate(step.args):
        name = tape.name_of.get(arg)
        if name is None or name not in leaves:
            continue
        swaps: list[tuple[Mistake, str, ValueRule]] = [
            (VALUE_WRONG_SIGN, f"This matches using {name} with the wrong sign.", _negated(arg))]
        partner = transposed_partner(problem, name) if name in problem.params else None
        if partner is not None:  # before the neighbours: in a 2x2 layer w2_21 is also w2_12's neighbour
            swaps.append((TRANSPOSED_WEIGHT, f"This matches using {partner} where {name} belongs: {TRANSPOSED_PLACE}",
                          _read(tape.slot_of[partner])))
        if arg not in targets:  # a target read as another target is wrong_target's
            for other in near.get(name, []):
                if other != partner:
                    swaps.append((NEIGHBOUR_VALUE, f"This matches using {other} where {name} belongs (a "
                                  f"neighbouring value).", _read(tape.slot_of[other])))
        for m, said, read in swaps:
            fwd.append(ForwardRule(m, said, _replaced(step, pos, read)))
            if step.kind == MUL:  # in the reverse pass the value is the other factor's partial
                bwd.append(BackwardRule(m, said, _partial_replaced(step, 1 - pos, read)))


TRANSPOSED_PLACE = "in w_jk, j is the unit the weight feeds and k the unit it comes from."


def tape_index(sites: Sites, step: Step) -> int:
    return sites.index_of[step.slot]


def _slip_rules(tape: Tape, step: Step, sites: Sites) -> None:
    """An earlier node's value carried into this step with a decimal slip."""
    rules = sites.forward.setdefault(tape_index(sites, step), [])
    for pos, arg in enumerate(step.args):
        name = tape.name_of.get(arg)
        if name is None or name not in tape.nodes:
            continue
        for factor, said in SLIPS:
            rules.append(ForwardRule(DECIMAL_SLIP, f"This matches a decimal slip in {name} carried forward: it was "
                                     f"used at {said} its value.",
                                     _replaced(step, pos, _scaled(arg, factor))))


def _targets(problem: NetworkProblem, tape: Tape, owner: dict[int, str], sites: Sites) -> None:
    """Givens read only by the loss node (the targets), and what a student might take for each."""
    loss = problem.loss
    found: list[int] = []
    for name in problem.given:
        if name in problem.inputs and problem.layers:
            continue
        slot = tape.slot_of[name]
        users = tape.consumers.get(slot, [])
        if users and all(owner.get(tape.steps[k].slot) == loss for k in users):
            found.append(slot)
    for slot in found:
        name = tape.name_of[slot]
        alternatives: list[tuple[str, ValueRule]] = [(tape.name_of[o], _read(o)) for o in found
                                                      if o != slot]
        alternatives += [(f"1 - {name}", _one_minus(slot)), ("0", _zero)]
        sites.targets.append((slot, alternatives))


def _wrong_inputs(problem: NetworkProblem, tape: Tape, sites: Sites) -> None:
    """A weight's gradient multiplied by any other input of its weighted sum, named."""
    for group in weight_products(problem, tape).values():
        for mul, pos, inp in group:
            k = sites.index_of[mul]
            step = tape.steps[k]
            weight = tape.name_of.get(step.args[pos], "the weight")
            own = tape.name_of.get(inp, "its input")
            rules = sites.backward.setdefault(k, [])
            for _, _, other in group:
                if other != inp:
                    instead = tape.name_of.get(other, "another input")
                    said = (f"This matches multiplying by {instead} where dL/d{weight} uses {own}, the input "
                            f"{weight} multiplies.")
                    rules.append(BackwardRule(WRONG_INPUT_AT, said, _partial_replaced(step, pos, _read(other))))


def sites_of(problem: NetworkProblem) -> Sites:
    """The problem's site tables (cached)."""
    cached: Sites | None = problem.cache.get("sites")
    if cached is not None:
        return cached
    tape = problem.tape
    assert tape is not None
    owner = _owners(tape)
    sites = Sites({s.slot: k for k, s in enumerate(tape.steps)}, owner)
    _targets(problem, tape, owner, sites)
    near = neighbours(problem)
    for m in mistakes_for(problem):
        for slot in sorted(m.sites):
            k = sites.index_of.get(slot)
            if k is None:
                continue
            step = tape.steps[k]
            if m.forward_hook is not None:
                sites.forward.setdefault(k, []).append(ForwardRule(m, m.explanation, _hook_forward(m, step)))
            if m.backward_hook is not None:
                sites.backward.setdefault(k, []).append(BackwardRule(m, m.explanation, _hook_backward(m, step)))
    for step in tape.steps:
        _leaf_rules(problem, tape, step, sites, near)
        _slip_rules(tape, step, sites)
    _wrong_inputs(problem, tape, sites)
    problem.cache["sites"] = sites
    return sites
