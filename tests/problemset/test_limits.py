"""How large a problem set may be: refused from its declared sizes, at once, with problem, field and line."""

from __future__ import annotations

import time
from typing import Any

import pytest
import yaml

from grader.grading.answers import Answers
from grader.grading.grade import grade
from grader.problemset.limits import MAX_LAYER_WIDTH, MAX_PROBLEM_SIZE, MAX_PROBLEMS, MAX_SET_SIZE
from grader.problemset.loader import load_problem_set
from grader.problemset.model import NetworkProblem, ProblemSet
from grader.problemset.source import ProblemSetError


def layered(widths: list[int], inputs: int = 2, pid: str = "q1", drawn: bool = True, **fields: Any) -> dict[str, Any]:
    """A dense sigmoid network with ``inputs`` inputs, then layers of ``widths`` units, one target per output."""
    layers: list[dict[str, Any]] = []
    previous = inputs
    for width in widths:
        if drawn:
            layers.append({"weights": {"uniform": [-1, 1], "decimals": 1}, "units": width, "activation": "sigmoid"})
        else:
            layers.append({"weights": [[0.1] * previous] * width, "biases": [0.0] * width, "activation": "sigmoid"})
        previous = width
    return {"id": pid, "kind": "network", "inputs": {f"x{k + 1}": 0.5 for k in range(inputs)},
            "targets": {f"y{k + 1}": 1.0 for k in range(widths[-1])}, "layers": layers, "loss": "squared_error",
            "learning_rate": 0.1, **fields}


def text_of(*problems: dict[str, Any]) -> str:
    return yaml.safe_dump({"id": "big", "problems": list(problems)}, sort_keys=False)


def refused(text: str, cpu_seconds: float = 1.5) -> ProblemSetError:
    start = time.process_time()
    with pytest.raises(ProblemSetError) as info:
        load_problem_set(text, "big.yaml")
    assert time.process_time() - start < cpu_seconds, "refused from the declared sizes, before building anything"
    return info.value


def line_of(text: str, fragment: str) -> int:
    return next(k for k, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_a_million_units_are_refused_before_one_is_drawn() -> None:
    text = text_of(layered([1_000_000, 1], inputs=1))
    error = refused(text)
    assert error.message == f"1,000,000 units in layer 1; at most {MAX_LAYER_WIDTH} are accepted"
    assert (error.problem, error.field, error.line) == ("q1", "layers.0.units", line_of(text, "units: 1000000"))


def test_three_layers_of_300_units_are_refused_at_once() -> None:
    draw = "{weights: {uniform: [-1, 1], decimals: 2}, biases: {uniform: [-1, 1]}, units: 300, activation: tanh}"
    text = ("id: big\nproblems:\n  - id: q1\n    kind: network\n    inputs: {x1: 0.5, x2: -1.0}\n"
            "    targets: {y: 1.0}\n    layers:\n" + f"      - {draw}\n" * 3 +
            "      - {weights: {uniform: [-1, 1]}, units: 1, activation: sigmoid}\n"
            "    loss: binary_cross_entropy\n    learning_rate: 0.1\n")
    assert len(text) < 600
    error = refused(text)
    assert (error.field, error.line) == ("layers.0.units", 8)


def test_layers_too_large_together_are_refused_at_the_layer_that_passes_the_bound() -> None:
    text = text_of(layered([200, 200, 200]))
    error = refused(text)
    assert "the network is too large: more than 3,000 values and operations" in error.message
    assert error.field == "layers.1.units"
    explicit = text_of(layered([60, 60], drawn=False))
    assert refused(explicit).field == "layers.1.weights"


@pytest.mark.parametrize(("field", "problem"), [
    ("inputs", layered([1], inputs=MAX_LAYER_WIDTH + 1)),
    ("targets", layered([MAX_LAYER_WIDTH + 1], inputs=1)),
])
def test_inputs_and_targets_are_bounded_like_layers(field: str, problem: dict[str, Any]) -> None:
    error = refused(text_of(problem))
    assert error.field == field and f"{MAX_LAYER_WIDTH + 1} {field}" in error.message


def test_a_forward_network_is_counted_as_it_is_read() -> None:
    terms = " + ".join(f"w*x{k}" for k in range(2_000))
    problem = {"id": "q1", "kind": "network", "given": {f"x{k}": 1.0 for k in range(2_000)}, "params": {"w": 0.5},
               "forward": {"z": "w*x0", "L": terms}, "loss": "L"}
    text = text_of(problem)
    error = refused(text)
    assert error.field == "forward.L" and "too large" in error.message and error.line == line_of(text, "  L: ")
    many = {**problem, "given": {f"x{k}": 1.0 for k in range(MAX_PROBLEM_SIZE + 1)}, "forward": {"L": "w*x0"}}
    assert refused(text_of(many)).field == "given"


def test_the_set_is_bounded_as_a_whole() -> None:
    problems = [layered([30], inputs=20, pid=f"q{k}") for k in range(3)]  # about 2,100 each
    error = refused(text_of(*problems), cpu_seconds=2.0)  # the first two are built before the third is counted
    assert error.problem == "q2" and "together" in error.message
    assert MAX_SET_SIZE < 3 * 2_100
    load_problem_set(text_of(*problems[:2]), "big.yaml")


def test_a_set_of_too_many_problems_is_refused() -> None:
    problems = [{"id": f"q{k}", "kind": "expression", "variables": {"x": "real"}, "answer": "x"}
                for k in range(MAX_PROBLEMS + 1)]
    error = refused(text_of(*problems))
    assert error.field == "problems" and f"at most {MAX_PROBLEMS}" in error.message


def test_a_network_at_the_bound_loads_and_grades_every_answer_quickly() -> None:
    start = time.process_time()
    ps: ProblemSet = load_problem_set(text_of(layered([80, 1], inputs=10)), "big.yaml")
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem) and problem.tape is not None
    assert MAX_PROBLEM_SIZE - 500 < len(problem.tape.init) <= MAX_PROBLEM_SIZE
    wrong = {q.name: 0.5 + 0.001 * k for k, q in enumerate(problem.quantities.values())}  # every quantity, wrong
    result = grade(ps, Answers("big", "s1", {"q1": wrong}))
    assert len([p for p in result.problems[0].parts if not p.shown]) == len(problem.ask)  # the rest: shown work
    assert time.process_time() - start < 5  # about a second on a quiet machine
