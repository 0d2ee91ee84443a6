"""Several training examples (SPEC 6.3): per-example nodes, the loss reduced, follow-through per example."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from grader.grading.result import Verdict
from grader.problemset.model import NetworkProblem
from grader.problemset.source import ProblemSetError
from grader.solver.world import solve
from tests.conftest import SPEC_Q1, grade_answers, load_problem, load_set, parts
from tests.solver.test_world import torch_value

NODE_FORM = {k: v for k, v in SPEC_Q1.items() if k not in ("ask", "tolerance")}


def batch(examples: int, reduction: str = "mean", seed: int = 0, **changes: Any) -> dict[str, Any]:
    rng = random.Random(seed)
    given = {"x1": [round(rng.uniform(-2, 2), 2) for _ in range(examples)],
             "x2": [round(rng.uniform(-2, 2), 2) for _ in range(examples)],
             "y": [rng.choice([0, 1]) for _ in range(examples)]}
    return {**NODE_FORM, "given": given, "batch": reduction, **changes}


def key(problem: NetworkProblem) -> dict[str, float]:
    world = solve(problem, {})
    return {q.name: world.value(q) for q in problem.quantities.values() if not q.step or q.kind != "grad"}


def test_nodes_are_named_per_example_and_the_loss_is_their_mean() -> None:
    problem = load_problem(batch(2))
    assert "z1[2]" in problem.quantities and "dL/dz1[2]" in problem.quantities and "x1[1]" in problem.given
    k = key(problem)
    assert math.isclose(k["L"], (k["L[1]"] + k["L[2]"]) / 2)
    single = load_problem({**NODE_FORM, "given": {"x1": problem.given["x1[2]"], "x2": problem.given["x2[2]"],
                                                  "y": problem.given["y[2]"]}})
    one = key(single)
    assert math.isclose(k["z3[2]"], one["z3"])
    assert math.isclose(k["dL/dz3[2]"], one["dL/dz3"] / 2)  # the 1/N of the mean


def test_sum_reduction() -> None:
    k = key(load_problem(batch(3, "sum")))
    assert math.isclose(k["L"], k["L[1]"] + k["L[2]"] + k["L[3]"])


@pytest.mark.parametrize("examples", [1, 2, 3, 4])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_batches_agree_with_autograd(examples: int, reduction: str) -> None:
    torch = pytest.importorskip("torch")
    spec = batch(examples, reduction, seed=examples)
    problem = load_problem(spec)
    assert problem.tape is not None
    params = {n: torch.tensor(float(v), dtype=torch.float64, requires_grad=True)  # type: ignore[arg-type]
              for n, v in spec["params"].items()}
    losses = []
    for k in range(examples):
        env = {**params, **{n: torch.tensor(float(spec["given"][n][k]), dtype=torch.float64)
                            for n in spec["given"]}}
        for name in spec["forward"]:
            env[name] = torch_value(torch, NETWORK_TREES[name], env)
        losses.append(env["L"])
    total = torch.stack(losses).mean() if reduction == "mean" else torch.stack(losses).sum()
    total.backward()
    world = solve(problem, {})
    assert world.value(problem.quantities["L"]) == pytest.approx(float(total.detach()), rel=1e-12)
    for n, t in params.items():
        assert world.value(problem.quantities[f"dL/d{n}"]) == pytest.approx(float(t.grad), rel=1e-9, abs=1e-12)


def _trees() -> dict[str, Any]:
    problem = load_problem(NODE_FORM)
    return dict(problem.forward)


NETWORK_TREES = _trees()


def test_a_slip_in_one_example_costs_only_that_examples_quantities() -> None:
    spec = batch(3, ask=[f"{n}[{k}]" for k in (1, 2, 3) for n in ("h1", "z3", "dL/dz3")] + ["L", "dL/dw1", "next.w1"])
    ps = load_set(spec)
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    right = key(problem)
    answers: dict[str, Any] = {q.name: round(right[q.name], 4) for q in problem.ask}
    answers["h1[2]"] = round(right["h1[2]"] + 0.1, 4)
    for name in ["z3[2]", "dL/dz3[2]", "L", "dL/dw1", "next.w1"]:  # carried exactly from the slip
        answers[name] = round(solve(problem, {}, answers).value(problem.quantities[name]), 4)
    got = parts(grade_answers(ps, {"q1": answers}))
    assert got["h1[2]"].verdict is Verdict.INCORRECT
    for k in (1, 3):
        assert all(got[f"{n}[{k}]"].verdict is Verdict.CORRECT for n in ("h1", "z3", "dL/dz3"))
    assert got["z3[2]"].verdict is Verdict.FOLLOW_THROUGH and "h1[2]" in got["z3[2]"].feedback
    assert got["dL/dw1"].verdict is Verdict.FOLLOW_THROUGH


def test_a_batch_in_the_layer_form() -> None:
    spec = {"id": "q1", "inputs": {"x1": [1.0, 0.5], "x2": [-1.0, 2.0]}, "targets": {"y": [1.0, 0.0]},
            "layers": [{"weights": [[0.2, -0.4], [0.5, 0.3]], "biases": [0.1, -0.1], "activation": "sigmoid"},
                       {"weights": [[0.7, -0.6]], "biases": [0.2], "activation": "sigmoid"}],
            "loss": "squared_error", "learning_rate": 0.5, "batch": "sum"}
    problem = load_problem(spec)
    k = key(problem)
    assert math.isclose(k["L"], k["L[1]"] + k["L[2]"]) and "a2_1[2]" in problem.quantities


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"given": {"x1": [1.0, 2.0], "x2": [1.0], "y": 1}}, "x2 has 1 examples but x1 has 2"),
    ({"given": {"x1": [], "x2": 1.0, "y": 1}}, "lists no examples"),
    ({"given": {"x1": [1.0, "a"], "x2": 1.0, "y": 1}}, "given.x1.1"),
    ({"batch": "max"}, "mean or sum"),
])
def test_batch_errors_say_what_and_where(changes: dict[str, Any], fragment: str) -> None:
    spec = {**batch(2), **changes}
    with pytest.raises(ProblemSetError) as err:
        load_set(spec)
    assert fragment in str(err.value)


def test_batch_without_examples_is_refused() -> None:
    with pytest.raises(ProblemSetError, match="batch needs examples"):
        load_set({**NODE_FORM, "batch": "mean"})
