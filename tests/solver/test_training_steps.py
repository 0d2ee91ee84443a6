"""Several updates with any optimizer (SPEC 6.2): keys agree with torch.optim; follow-through runs across steps."""

from __future__ import annotations

import math
from typing import Any

import pytest

from grader.grading.result import Verdict
from grader.problemset.model import NetworkProblem
from grader.problemset.network import normalize_quantity
from grader.problemset.source import ProblemSetError
from grader.solver.optimizers import HYPER, KINDS
from grader.solver.world import solve
from tests.conftest import SPEC_Q1, grade_answers, load_problem, load_set, parts
from tests.solver.test_world import torch_value

BASE = {k: v for k, v in SPEC_Q1.items() if k not in ("learning_rate", "tolerance", "ask")}
SETTINGS: dict[str, dict[str, float]] = {
    "sgd": {"lr": 0.1}, "momentum": {"lr": 0.1, "beta": 0.9}, "nesterov": {"lr": 0.05, "beta": 0.8},
    "rmsprop": {"lr": 0.01}, "adagrad": {"lr": 0.1}, "adam": {"lr": 0.01}, "adamw": {"lr": 0.01, "weight_decay": 0.1},
}


def trained(kind: str, steps: int = 3, **extra: Any) -> NetworkProblem:
    ask = ["L", *(f"step{k}.{q}" for k in range(1, steps + 1) for q in ("w1", "b3", "L", "dL/dw1"))]
    if kind not in ("sgd",):
        ask += [f"step{steps}.{part}.w5" for part in ("m", "v") if part in _state(kind)]
    return load_problem({**BASE, "optimizer": {kind: SETTINGS[kind]}, "steps": steps, "ask": ask, **extra})


def _state(kind: str) -> tuple[str, ...]:
    from grader.solver.optimizers import STATE

    return STATE[kind]


def values(problem: NetworkProblem) -> dict[str, float]:
    world = solve(problem, {})
    return {q.name: world.value(q) for q in problem.ask}


def test_quantity_names_after_several_updates() -> None:
    assert normalize_quantity("step1.w1") == "next.w1"
    assert normalize_quantity("next.next.w1") == "step2.w1"
    assert normalize_quantity("next.dL/dw1") == "next.dL/dw1"
    assert normalize_quantity("step0.dL / dw1") == "dL/dw1"
    assert normalize_quantity("step3.m.w1") == "step3.m.w1"


def test_two_sgd_steps_by_hand() -> None:
    problem = load_problem({**BASE, "learning_rate": 0.1, "steps": 2, "ask": ["next.w1", "step2.w1"]})
    world = solve(problem, {})
    got = values(problem)
    g0 = world.value(problem.quantities["dL/dw1"])
    g1 = world.value(problem.quantities["next.dL/dw1"])
    assert math.isclose(got["next.w1"], 0.5 - 0.1 * g0)
    assert math.isclose(got["step2.w1"], 0.5 - 0.1 * g0 - 0.1 * g1)


def test_the_first_adam_step_moves_each_weight_by_the_learning_rate() -> None:
    got = values(trained("adam", 1))
    assert math.isclose(got["next.w1"], 0.5 + 0.01, rel_tol=1e-6)  # dL/dw1 < 0: uphill in w1 is downhill in L


def torch_training(torch: Any, problem: NetworkProblem, kind: str) -> dict[str, float]:
    """The same network trained with torch.optim: the values asked, from torch's own autograd."""
    from tests.solver.test_optimizers import torch_optimizer

    assert problem.tape is not None and problem.optimizer is not None
    tape = problem.tape
    leaves = {n: torch.tensor(tape.init[tape.slot_of[n]], dtype=torch.float64, requires_grad=n in problem.params)
              for n in (*problem.given, *problem.params)}
    params = [leaves[p] for p in problem.params]
    opt = problem.optimizer
    optimizers = [torch_optimizer(torch, opt, p) for p in params]  # one per parameter: torch's own state per tensor
    out: dict[str, float] = {}

    def forward() -> dict[str, Any]:
        env = dict(leaves)
        for name in problem.order:
            env[name] = torch_value(torch, problem.forward[name], env)
        return env

    for k in range(problem.steps + 1):
        prefix = "" if k == 0 else "next." if k == 1 else f"step{k}."
        for p in params:
            p.grad = None
        env = forward()
        env[problem.loss].backward()
        out[prefix + "L"] = float(env[problem.loss].detach())
        for name in problem.params:
            out[f"{prefix}{name}"] = float(leaves[name].detach())
            out[f"{prefix}dL/d{name}"] = float(leaves[name].grad)
            if k:
                state = optimizers[list(problem.params).index(name)].state[leaves[name]]
                m = state.get("momentum_buffer", state.get("exp_avg"))
                v = state.get("square_avg", state.get("sum", state.get("exp_avg_sq")))
                if m is not None:
                    out[f"{prefix}m.{name}"] = float(m)
                if v is not None:
                    out[f"{prefix}v.{name}"] = float(v)
        if k < problem.steps:
            for o in optimizers:
                o.step()
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_three_steps_of_every_optimizer_agree_with_torch(kind: str) -> None:
    torch = pytest.importorskip("torch")
    problem = trained(kind)
    reference = torch_training(torch, problem, kind)
    for name, value in values(problem).items():
        assert value == pytest.approx(reference[name], rel=1e-9, abs=1e-12), name


@pytest.mark.parametrize("kind", KINDS)
def test_the_keys_own_values_are_correct_and_five_percent_off_is_not(kind: str) -> None:
    problem = trained(kind)
    ps = load_set({**BASE, "optimizer": {kind: SETTINGS[kind]}, "steps": 3, "ask": [q.name for q in problem.ask]})
    key = values(problem)
    got = parts(grade_answers(ps, {"q1": {n: f"{v:.6g}" for n, v in key.items()}}))
    assert all(p.verdict is Verdict.CORRECT for p in got.values()), got
    for name, value in key.items():
        if abs(value) < 1e-3:
            continue
        off = parts(grade_answers(ps, {"q1": {name: f"{value * 1.05:.6g}"}}))[name]
        assert off.verdict is not Verdict.CORRECT, (name, value, off.feedback)


def test_follow_through_runs_across_steps() -> None:
    ps = load_set({**BASE, "learning_rate": 0.1, "steps": 2, "ask": ["dL/dw1", "next.w1", "next.dL/dw1", "step2.w1"]})
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    key = values(problem)
    slipped = {"dL/dw1": round(key["dL/dw1"], 4), "next.w1": round(key["next.w1"] + 0.05, 4)}  # a wrong step
    theirs = solve(problem, {}, slipped)
    slipped["next.dL/dw1"] = round(theirs.value(problem.quantities["next.dL/dw1"]), 4)
    theirs = solve(problem, {}, slipped)
    slipped["step2.w1"] = round(theirs.value(problem.quantities["step2.w1"]), 4)
    got = parts(grade_answers(ps, {"q1": slipped}))
    assert got["dL/dw1"].verdict is Verdict.CORRECT and got["next.w1"].verdict is Verdict.INCORRECT
    assert got["next.dL/dw1"].verdict is Verdict.FOLLOW_THROUGH
    assert got["step2.w1"].verdict is Verdict.FOLLOW_THROUGH, got["step2.w1"].feedback


def test_a_second_step_left_undone_is_never_right() -> None:
    ps = load_set({**BASE, "learning_rate": 0.1, "steps": 2, "ask": ["next.w1", "step2.w1"]})
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    key = values(problem)
    got = parts(grade_answers(ps, {"q1": {"next.w1": f"{key['next.w1']:.6f}", "step2.w1": f"{key['next.w1']:.6f}"}}))
    assert got["next.w1"].verdict is Verdict.CORRECT and got["step2.w1"].verdict is Verdict.INCORRECT


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"optimizer": {"adamm": {"lr": 0.1}}}, "did you mean adam"),
    ({"optimizer": {"momentum": {"lr": 0.1}}}, "momentum needs beta"),
    ({"optimizer": {"adam": {"lr": 0.1, "beta": 0.9}}}, "adam has no setting 'beta'"),
    ({"optimizer": {"adam": {"lr": -1}}}, "lr must be positive"),
    ({"optimizer": {"adam": {}, "sgd": {}}}, "names one optimizer"),
    ({"learning_rate": 0.1, "optimizer": "adam"}, "not both"),
    ({"learning_rate": 0.1, "steps": 0}, "steps must be a whole number"),
    ({"steps": 2}, "steps needs learning_rate or optimizer"),
    ({"learning_rate": 0.1, "ask": ["step2.w1"]}, "not a quantity"),
    ({"ask": ["next.w1"]}, "no learning_rate (or optimizer)"),
])
def test_optimizer_errors_say_what_and_where(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ProblemSetError) as err:
        load_set({**BASE, "ask": ["z1"], **changes})
    assert fragment in str(err.value) and "q1" in str(err.value)


def test_defaults_are_torchs() -> None:
    problem = load_problem({**BASE, "optimizer": "adam", "ask": ["next.w1"]})
    assert problem.optimizer is not None
    assert (problem.optimizer.lr, problem.optimizer.beta1, problem.optimizer.beta2, problem.optimizer.eps) == (
        HYPER["adam"]["lr"], 0.9, 0.999, 1e-8)
    decayed = load_problem({**BASE, "learning_rate": 0.1, "weight_decay": 0.01, "ask": ["next.w1"]})
    assert decayed.optimizer is not None and decayed.optimizer.weight_decay == 0.01
    assert decayed.learning_rate is None  # not plain gradient descent: the sgd-only mistakes do not apply
