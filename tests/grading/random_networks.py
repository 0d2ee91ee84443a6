"""Random networks with one injected mistake, for the mistake search's tests and benchmark.

Networks are drawn deterministically from ``random.Random(seed)``: node form (a few hidden units with
any activation, sparse connections, any loss) and layer form (dense layers named w2_11, ...). A
mistake is injected at one random place by the solver's own hooks, written here from the tape
without the search's site tables, and the student's answers are that world's asked values, rounded
to 4 significant figures and carried forward the way a student carries them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from grader.expr.library import FUNCTIONS
from grader.grading.mistakes import derivative_at_output, transposed_partner
from grader.problemset.loader import load_problem_set
from grader.problemset.model import NetworkProblem, ProblemSet
from grader.solver.evaluate import BackwardHook, ForwardHook, partials
from grader.solver.tape import ADD, CALL, MUL, POW, SUB, Step
from grader.solver.world import UpdateRule, World, solve

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus")
SLIPS = (10.0, 0.1, 100.0, 0.01, 1000.0, 0.001)


def _w(rng: random.Random) -> float:
    x = round(rng.uniform(-1.5, 1.5), 2)
    return x if abs(x) >= 0.1 else 0.35


def _call(act: str, z: str) -> str:
    return f"leaky_relu({z}, 0.1)" if act == "leaky_relu" else f"{act}({z})"


def node_problem(rng: random.Random, pid: str = "q1") -> dict[str, Any]:
    """2-3 inputs, 2-3 hidden units (any activation, sparse), one output, any loss."""
    n_in, n_hid = rng.randint(2, 3), rng.randint(2, 3)
    given = {f"x{i + 1}": _w(rng) for i in range(n_in)}
    params: dict[str, float] = {}
    forward: dict[str, str] = {}
    k = 0
    for j in range(n_hid):
        used = [i for i in range(n_in) if rng.random() < 0.8] or [j % n_in]
        terms = []
        for i in used:
            k += 1
            params[f"w{k}"] = _w(rng)
            terms.append(f"w{k}*x{i + 1}")
        params[f"b{j + 1}"] = round(rng.uniform(-0.5, 0.5), 2) or 0.1
        forward[f"z{j + 1}"] = " + ".join(terms) + f" + b{j + 1}"
        forward[f"h{j + 1}"] = _call(rng.choice(ACTIVATIONS), f"z{j + 1}")
    terms = []
    for j in range(n_hid):
        k += 1
        params[f"w{k}"] = _w(rng)
        terms.append(f"w{k}*h{j + 1}")
    params["c"] = round(rng.uniform(-0.5, 0.5), 2) or 0.1
    forward["s"] = " + ".join(terms) + " + c"
    loss = rng.choice(["squared", "half", "bce", "huber", "l1"])
    if loss == "bce":
        given["y"] = float(rng.choice([0, 1]))
        forward["p"] = "sigmoid(s)"
        forward["L"] = "-(y*log(p) + (1 - y)*log(1 - p))"
    else:
        given["y"] = round(rng.uniform(-1, 1), 2)
        forward["p"] = _call(rng.choice(["tanh", "sigmoid", "elu", "softplus"]), "s")
        forward["L"] = {"squared": "(y - p)^2", "half": "0.5*(p - y)^2", "huber": "huber(p - y, 0.5)",
                        "l1": "abs(y - p)"}[loss]
    return {"id": pid, "kind": "network", "given": given, "params": params, "forward": forward, "loss": "L",
            "learning_rate": rng.choice([0.1, 0.5, 0.05])}


def layer_problem(rng: random.Random, pid: str = "q1", sizes: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Dense layers: 2-3 inputs, one or two hidden layers, 1-3 outputs, any layer-form loss."""
    if sizes is None:
        sizes = (rng.randint(2, 3), *[rng.randint(2, 3) for _ in range(rng.randint(1, 2))], rng.randint(1, 3))
    loss = rng.choice(["squared_error", "half_squared_error", "mse", "binary_cross_entropy", "cross_entropy"])
    if loss == "cross_entropy" and sizes[-1] == 1:
        loss = "mse"
    layers = []
    for i in range(1, len(sizes)):
        last = i == len(sizes) - 1
        act = rng.choice(ACTIVATIONS)
        if last:
            act = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(loss, rng.choice(
                ["sigmoid", "tanh", "linear", "softmax" if sizes[-1] > 1 else "elu"]))
        layer: dict[str, Any] = {"weights": [[_w(rng) for _ in range(sizes[i - 1])] for _ in range(sizes[i])],
                                 "biases": [round(rng.uniform(-0.5, 0.5), 2) for _ in range(sizes[i])],
                                 "activation": act}
        if act == "leaky_relu":
            layer["alpha"] = 0.1
        layers.append(layer)
    outputs = sizes[-1]
    if loss == "cross_entropy":
        hot = rng.randrange(outputs)
        targets = {f"t{j + 1}": float(j == hot) for j in range(outputs)}
    elif loss == "binary_cross_entropy":
        targets = {f"t{j + 1}": float(rng.choice([0, 1])) for j in range(outputs)}
    else:
        targets = {f"t{j + 1}": round(rng.uniform(-1, 1), 2) for j in range(outputs)}
    return {"id": pid, "kind": "network", "inputs": {f"x{i + 1}": _w(rng) for i in range(sizes[0])},
            "targets": targets, "layers": layers, "loss": loss, "learning_rate": rng.choice([0.1, 0.5, 0.05])}


def dense_ask(problem: NetworkProblem) -> list[str]:
    """Every node, every gradient, every update and the loss after the step: each slip is its own root."""
    nodes = list(problem.order)
    return [*nodes, *(f"dL/d{n}" for n in nodes if n != problem.loss), *(f"dL/d{p}" for p in problem.params),
            *(f"next.{p}" for p in problem.params), f"next.{problem.loss}"]


def load(raw: dict[str, Any], ask: Callable[[NetworkProblem], list[str]] = dense_ask,
         tolerance: dict[str, float] | None = None) -> ProblemSet:
    """The problem set holding ``raw``, asking ``ask`` of it."""
    first = load_problem_set(yaml.safe_dump({"id": "rnd", "problems": [raw]}), "r.yaml").problems[0]
    assert isinstance(first, NetworkProblem)
    full = {**raw, "ask": ask(first), "tolerance": tolerance or {"rtol": 0.01, "atol": 1e-6}}
    return load_problem_set(yaml.safe_dump({"id": "rnd", "problems": [full]}), "r.yaml")


def sig4(x: float) -> float:
    return float(f"{x:.4g}") if math.isfinite(x) else x


@dataclass
class Injected:
    """One mistake at one place: the world's hooks and what a student's answer does to the one quantity."""

    name: str
    forward_hook: ForwardHook | None = None
    backward_hook: BackwardHook | None = None
    update: UpdateRule | None = None
    param: str | None = None  # the update rule applies to this parameter only
    scaled: tuple[str, float] | None = None  # the student's answer to a quantity, times a factor


Read = Callable[[list[float]], float]


def _read(slot: int) -> Read:
    return lambda v: v[slot]


def _neg(slot: int) -> Read:
    return lambda v: -v[slot]


def _scale(slot: int, factor: float) -> Read:
    return lambda v: v[slot] * factor


def _one_minus(slot: int) -> Read:
    return lambda v: 1.0 - v[slot]


def _const(x: float) -> Read:
    return lambda v: x


def _first(read: Read) -> Callable[[Step, list[float]], float]:
    return lambda step, v: read(v)


def _at(slot: int, value: Callable[[Step, list[float]], float]) -> ForwardHook:
    return lambda step, v: value(step, v) if step.slot == slot else None


def _local_at(slot: int, local: Callable[[Step, list[float]], tuple[float, ...]]) -> BackwardHook:
    return lambda step, v: local(step, v) if step.slot == slot else None


def _replace_arg(pos: int, read: Callable[[list[float]], float]) -> Callable[[Step, list[float]], float]:
    def value(step: Step, v: list[float]) -> float:
        return float(step.fn(*[read(v) if i == pos else v[a] for i, a in enumerate(step.args)]))
    return value


Partials = Callable[[Step, list[float]], tuple[float, ...]]


def _replace_partial(pos: int, read: Callable[[list[float]], float]) -> Partials:
    def local(step: Step, v: list[float]) -> tuple[float, ...]:
        d = list(partials(step, v))
        d[pos] = read(v)
        return tuple(d)
    return local


def injections(problem: NetworkProblem) -> dict[str, list[Injected]]:
    """Every catalogued mistake at every place it can happen here, by name (written from the tape)."""
    tape = problem.tape
    assert tape is not None
    out: dict[str, list[Injected]] = {}

    def add(inj: Injected) -> None:
        out.setdefault(inj.name, []).append(inj)

    params = {tape.slot_of[p]: p for p in problem.params}
    leaves = {tape.slot_of[n]: n for n in (*problem.params, *problem.given)}
    steps_at = {s.slot: s for s in tape.steps}
    for s in tape.steps:
        if s.kind == ADD and (s.args[0] in params) != (s.args[1] in params):
            other = s.args[1] if s.args[0] in params else s.args[0]
            add(Injected("bias_omitted", forward_hook=_at(s.slot, _first(_read(other)))))
        if s.kind == CALL and s.func is not None:
            name = s.func.name
            if name == "sigmoid":
                add(Injected("sigmoid_exponent_sign", forward_hook=_at(s.slot, lambda st, v: 1 - st.fn(v[st.args[0]]))))
            if name == "log":
                add(Injected("log10_for_ln", forward_hook=_at(s.slot, lambda st, v: math.log10(v[st.args[0]]))))
            if s.func.activation:
                add(Injected("activation_derivative_omitted", backward_hook=_local_at(
                    s.slot, lambda st, v: (1.0, *partials(st, v)[1:]))))
                add(Injected("activation_for_derivative", backward_hook=_local_at(
                    s.slot, lambda st, v: (v[st.slot], *partials(st, v)[1:]))))
                add(Injected("derivative_at_activation", backward_hook=_local_at(
                    s.slot, lambda st, v: (derivative_at_output(st, v), *partials(st, v)[1:]))))
                if name == "tanh":
                    add(Injected("tanh_derivative_not_squared", backward_hook=_local_at(
                        s.slot, lambda st, v: (1 - v[st.slot],))))
        if s.kind == POW and s.args[1] not in steps_at and tape.init[s.args[1]] == 2.0:
            add(Injected("missing_factor_2", backward_hook=_local_at(s.slot, lambda st, v: (v[st.args[0]], 0.0))))
        if s.kind == SUB:
            add(Injected("inner_derivative_sign", backward_hook=_local_at(s.slot, lambda st, v: (1.0, 1.0))))
        for pos, a in enumerate(s.args):
            if a in leaves:
                name = leaves[a]
                add(Injected("value_wrong_sign", forward_hook=_at(s.slot, _replace_arg(pos, _neg(a)))))
                if s.kind == MUL:
                    add(Injected("value_wrong_sign", backward_hook=_local_at(
                        s.slot, _replace_partial(1 - pos, _neg(a)))))
                partner = transposed_partner(problem, name) if name in problem.params else None
                if partner is not None:
                    p_slot = tape.slot_of[partner]
                    add(Injected("transposed_weight", forward_hook=_at(s.slot, _replace_arg(
                        pos, _read(p_slot)))))
                    if s.kind == MUL:
                        add(Injected("transposed_weight", backward_hook=_local_at(
                            s.slot, _replace_partial(1 - pos, _read(p_slot)))))
            elif a in tape.name_of and tape.name_of[a] in problem.forward:
                for f in SLIPS:
                    slip = _replace_arg(pos, _scale(a, f))
                    add(Injected("decimal_slip", forward_hook=_at(s.slot, slip)))
    _neighbours(problem, add)
    _products(problem, add)
    _paths(problem, add)
    _targets(problem, add)
    for name in problem.order:
        if name != problem.loss:
            for f in SLIPS:
                add(Injected("decimal_slip", scaled=(f"dL/d{name}", f)))
                add(Injected("decimal_slip", scaled=(name, f)))
    for q in problem.ask:
        if q.kind != "next":
            add(Injected("sign_error", scaled=(q.name, -1.0)))
    for p in problem.params:
        add(Injected("update_wrong_sign", update=lambda w, eta, g: w + eta * g, param=p))
        add(Injected("learning_rate_omitted", update=lambda w, eta, g: w - g, param=p))
        add(Injected("learning_rate_twice", update=lambda w, eta, g: w - eta * eta * g, param=p))
        add(Injected("learning_rate_twice", update=lambda w, eta, g: w - 2 * eta * g, param=p))
    return out


def _neighbours(problem: NetworkProblem, add: Callable[[Injected], None]) -> None:
    tape = problem.tape
    assert tape is not None
    targets = set(problem.given) - set(problem.inputs) if problem.layers else {"y"}
    for group in (list(problem.params), [g for g in problem.given if g not in targets]):
        for i, name in enumerate(group):
            for j in (i - 1, i + 1):
                if 0 <= j < len(group) and group[j].rstrip("0123456789_") == name.rstrip("0123456789_"):
                    slot, other = tape.slot_of[name], tape.slot_of[group[j]]
                    for k in tape.consumers.get(slot, []):
                        s = tape.steps[k]
                        pos = s.args.index(slot)
                        add(Injected("neighbour_value", forward_hook=_at(s.slot, _replace_arg(
                            pos, _read(other)))))


def _products(problem: NetworkProblem, add: Callable[[Injected], None]) -> None:
    """wrong_input: a weight's gradient multiplied by another input of the same sum."""
    tape = problem.tape
    assert tape is not None
    params = {tape.slot_of[p] for p in problem.params}
    for node in problem.order:
        muls = []
        for s in tape.steps:
            if s.kind == MUL and (s.args[0] in params) != (s.args[1] in params):
                owner = min((n for n in problem.order if tape.slot_of[n] >= s.slot), key=lambda n: tape.slot_of[n])
                if owner == node:
                    muls.append(s)
        for s in muls:
            pos = 0 if s.args[0] in params else 1
            for other in muls:
                if other is not s:
                    inp = other.args[1 - (0 if other.args[0] in params else 1)]
                    add(Injected("wrong_input", backward_hook=_local_at(
                        s.slot, _replace_partial(pos, _read(inp)))))
            inp = s.args[1 - pos]
            pre = tape.steps[[t.slot for t in tape.steps].index(inp)] if inp in {t.slot for t in tape.steps} else None
            if pre is not None and pre.kind == CALL and pre.func is not None and pre.func.activation:
                add(Injected("pre_activation_as_input", backward_hook=_local_at(
                    s.slot, _replace_partial(pos, _read(pre.args[0])))))


def _paths(problem: NetworkProblem, add: Callable[[Injected], None]) -> None:
    """path_omitted: a node feeding several steps, its gradient taken through one of them only."""
    tape = problem.tape
    assert tape is not None
    for slot in tape.slot_of.values():
        users = sorted(set(tape.consumers.get(slot, [])))
        if len(users) < 2:
            continue
        for keep in users:
            dropped = {tape.steps[k].slot for k in users if k != keep}

            def hook(step: Step, v: list[float], dropped: set[int] = dropped,
                     y: int = slot) -> tuple[float, ...] | None:
                if step.slot not in dropped:
                    return None
                return tuple(0.0 if a == y else d for a, d in zip(step.args, partials(step, v), strict=True))
            add(Injected("path_omitted", backward_hook=hook))


def _targets(problem: NetworkProblem, add: Callable[[Injected], None]) -> None:
    """wrong_target: the loss's partials computed with 0, 1 - t or another target for t."""
    tape = problem.tape
    assert tape is not None
    targets = [g for g in problem.given if g not in problem.inputs or not problem.layers]
    targets = [t for t in targets if all(tape.steps[k].slot > tape.slot_of[problem.order[-2]]
                                         for k in tape.consumers.get(tape.slot_of[t], []))]
    for t in targets:
        slot = tape.slot_of[t]
        region: list[Step] = []
        frontier = {slot}
        for s in tape.steps:
            if any(a in frontier for a in s.args):
                region.append(s)
                frontier.add(s.slot)
        inside = {s.slot for s in region}
        alternatives: list[Callable[[list[float]], float]] = [_const(0.0), _one_minus(slot)]
        alternatives += [_read(tape.slot_of[o]) for o in targets if o != t]
        for read in alternatives:
            def hook(step: Step, v: list[float], read: Callable[[list[float]], float] = read, inside: set[int] = inside,
                     region: list[Step] = region, slot: int = slot) -> tuple[float, ...] | None:
                if step.slot not in inside:
                    return None
                v2 = list(v)
                v2[slot] = read(v)
                for s in region:
                    v2[s.slot] = float(s.fn(*[v2[a] for a in s.args]))
                return partials(step, v2)
            add(Injected("wrong_target", backward_hook=hook))


def answers_under(problem: NetworkProblem, inj: Injected, rounds: int = 16) -> tuple[dict[str, float], World]:
    """The student's asked answers in the mistaken world, rounded to 4 figures and carried forward."""
    tape = problem.tape
    assert tape is not None
    answers: dict[str, float] = {}
    world = solve(problem, {})
    for _ in range(rounds):  # until every answer follows from the rounded ones before it
        before = answers
        world = solve(problem, {}, answers, forward_hook=inj.forward_hook, backward_hook=inj.backward_hook)
        answers = {}
        for q in problem.ask:
            x = world.value(q)
            if inj.scaled is not None and q.name == inj.scaled[0]:
                x *= inj.scaled[1]
            if inj.param is not None and q.name == f"next.{inj.param}":
                assert inj.update is not None and problem.learning_rate is not None
                slot = tape.slot_of[inj.param]
                x = inj.update(world.values[slot], problem.learning_rate, world.grads[slot])
            answers[q.name] = sig4(x)
        if answers == before:
            break
    return answers, world


def garbage(problem: NetworkProblem, rng: random.Random) -> dict[str, float]:
    """Random answers of the key's magnitude with random signs, 4 significant figures."""
    key = solve(problem, {})
    out = {}
    for q in problem.ask:
        k = key.value(q)
        out[q.name] = sig4(rng.choice([-1, 1]) * rng.uniform(0.0, 2.0) * (abs(k) or 1.0))
    return out


__all__ = ["FUNCTIONS", "Injected", "answers_under", "dense_ask", "garbage", "injections", "layer_problem", "load",
           "node_problem", "sig4"]
