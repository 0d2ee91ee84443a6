"""Matrix and vector answers (SPEC 6.4): graded per entry; transposed and wrong shapes told apart."""

from __future__ import annotations

from typing import Any

import pytest

from grader.grading.result import PartResult, Verdict
from grader.problemset.model import NetworkProblem
from grader.solver.world import solve
from tests.conftest import grade_answers, load_set, parts

LAYERS: dict[str, Any] = {
    "id": "q1", "inputs": {"x1": 1.0, "x2": 0.5, "x3": -1.0}, "targets": {"y": 1.0},
    "layers": [{"weights": [[0.2, -0.4, 0.1], [0.5, 0.3, -0.2]], "biases": [0.1, -0.1], "activation": "sigmoid"},
               {"weights": [[0.7, -0.6]], "biases": [0.2], "activation": "sigmoid"}],
    "loss": "squared_error", "learning_rate": 0.5,
    "ask": ["dL/dW1", "dL/db1", "a1", "next.W2"],
}


def key_matrix(name: str) -> list[list[float]]:
    problem = load_set(LAYERS).problems[0]
    assert isinstance(problem, NetworkProblem)
    world = solve(problem, {})
    grid = problem.matrices[name.rsplit("d", 1)[-1] if name.startswith("dL/d") else name.split(".")[-1]]
    head = name[: len(name) - len(name.split("/d")[-1].split(".")[-1])]
    return [[round(world.value(problem.quantities[head + e]), 6) for e in row] for row in grid]


def graded(answers: dict[str, Any]) -> dict[str, PartResult]:
    return parts(grade_answers(load_set(LAYERS), {"q1": answers}))


def right_answers() -> dict[str, Any]:
    return {"dL/dW1": key_matrix("dL/dW1"), "dL/db1": [r[0] for r in key_matrix("dL/db1")],
            "a1": key_matrix("a1"), "next.W2": key_matrix("next.W2")}


def test_asking_for_a_matrix_asks_for_each_entry() -> None:
    problem = load_set(LAYERS).problems[0]
    assert isinstance(problem, NetworkProblem)
    assert [q.name for q in problem.ask][:6] == ["dL/dw1_11", "dL/dw1_12", "dL/dw1_13", "dL/dw1_21", "dL/dw1_22",
                                                 "dL/dw1_23"]
    assert len(problem.ask) == 6 + 2 + 2 + 2


def test_right_matrices_and_vectors_are_correct_entry_by_entry() -> None:
    got = graded(right_answers())
    assert len(got) == 12 and all(p.verdict is Verdict.CORRECT for p in got.values()), got


def test_one_wrong_entry_costs_one_entry() -> None:
    answers = right_answers()
    answers["dL/dW1"][1][2] = 0.5
    got = graded(answers)
    assert got["dL/dw1_23"].verdict is Verdict.INCORRECT
    assert sum(p.verdict is Verdict.CORRECT for p in got.values()) == 11


def test_a_transposed_non_square_matrix_is_named() -> None:
    answers = right_answers()
    answers["dL/dW1"] = [list(col) for col in zip(*answers["dL/dW1"], strict=True)]
    got = graded(answers)
    for name in ["dL/dw1_11", "dL/dw1_12", "dL/dw1_23"]:
        assert got[name].verdict is Verdict.INCORRECT and got[name].misconception == "transposed"
    assert "transpose of dL/dW1" in got["dL/dw1_12"].feedback


def test_a_wrong_shape_is_invalid_and_names_both_shapes() -> None:
    answers = right_answers()
    answers["dL/dW1"] = [[0.1, 0.2], [0.3, 0.4]]
    got = graded(answers)
    assert got["dL/dw1_11"].verdict is Verdict.INVALID
    assert "2x3" in got["dL/dw1_11"].feedback and "2x2" in got["dL/dw1_11"].feedback


@pytest.mark.parametrize("written", [
    lambda v: [x[0] for x in v], lambda v: v, lambda v: [[x[0] for x in v]],
])
def test_a_vector_flat_as_a_column_or_as_a_row(written: Any) -> None:
    answers = right_answers()
    answers["a1"] = written(key_matrix("a1"))
    got = graded(answers)
    assert got["a1_1"].verdict is Verdict.CORRECT and got["a1_2"].verdict is Verdict.CORRECT


def test_a_square_matrix_right_only_when_transposed_is_named() -> None:
    square = {**LAYERS, "inputs": {"x1": 1.0, "x2": 0.5},
              "layers": [{"weights": [[0.2, -0.4], [0.5, 0.3]], "biases": [0.1, -0.1], "activation": "tanh"},
                         {"weights": [[0.7, -0.6]], "biases": [0.2], "activation": "sigmoid"}],
              "ask": ["dL/dW1"]}
    problem = load_set(square).problems[0]
    assert isinstance(problem, NetworkProblem)
    world = solve(problem, {})
    grid = [[round(world.value(problem.quantities["dL/d" + e]), 6) for e in row] for row in problem.matrices["W1"]]
    transposed = [list(c) for c in zip(*grid, strict=True)]
    got = parts(grade_answers(load_set(square), {"q1": {"dL/dW1": transposed}}))
    assert got["dL/dw1_12"].misconception == "transposed" and got["dL/dw1_21"].misconception == "transposed"
    assert got["dL/dw1_11"].verdict is Verdict.CORRECT
