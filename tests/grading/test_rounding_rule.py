"""One rounding rule for every number graded: network quantities and constant keys of expression problems.

Each row is judged three ways: by ``is_close`` itself, as the asked quantity of a network problem whose
value is the key, and as a number answering an expression problem whose key is that constant. All
three must give the row's verdict (``grader.grading.numeric`` states the rule).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from grader.grading.numeric import is_close
from grader.problemset.loader import load_problem_set
from grader.problemset.model import ExpressionProblem, Tolerance, ToleranceMode
from grader.symbolic.grade import grade_expression
from tests.conftest import grade_answers, load_set, parts

# (submitted, key, tolerance, right)
ROWS: list[tuple[float, float, dict[str, Any], bool]] = [
    # significant figures: the key rounded to k figures, or closer; half a unit of the k-th place
    (9.8, 9.85, {"sigfigs": 2}, True),
    (9.9, 9.85, {"sigfigs": 2}, True),
    (10.0, 9.85, {"sigfigs": 2}, False),  # 9.85 to 1 significant figure, not 2
    (9.7, 9.85, {"sigfigs": 2}, False),
    (10.0, 9.96, {"sigfigs": 2}, True),
    (9.9, 9.96, {"sigfigs": 2}, False),
    (0.834, 0.833655, {"sigfigs": 3}, True),
    (0.833, 0.833655, {"sigfigs": 3}, False),
    (0.8337, 0.833655, {"sigfigs": 3}, True),
    (0.83, 0.833655, {"sigfigs": 2}, True),
    (0.84, 0.833655, {"sigfigs": 2}, False),
    (1230.0, 1234.5, {"sigfigs": 3}, True),
    (1240.0, 1234.5, {"sigfigs": 3}, False),
    (1235.0, 1234.5, {"sigfigs": 4}, True),  # exactly half a unit: the key rounds either way
    (1234.0, 1234.5, {"sigfigs": 4}, True),
    (1236.0, 1234.5, {"sigfigs": 4}, False),
    (0.000123, 0.00012345, {"sigfigs": 3}, True),
    (0.000124, 0.00012345, {"sigfigs": 3}, False),
    (-0.119, -0.119003, {"sigfigs": 3}, True),
    (-0.12, -0.119003, {"sigfigs": 3}, False),
    (0.12, 0.125, {"sigfigs": 2}, True),
    (0.13, 0.125, {"sigfigs": 2}, True),
    (0.14, 0.125, {"sigfigs": 2}, False),
    (2.0, 2.5, {"sigfigs": 1}, True),
    (3.0, 2.5, {"sigfigs": 1}, True),
    (4.0, 2.5, {"sigfigs": 1}, False),
    # decimal places
    (1.23, 1.23456, {"decimals": 2}, True),
    (1.24, 1.23456, {"decimals": 2}, False),
    (1.2, 1.25, {"decimals": 1}, True),
    (1.3, 1.25, {"decimals": 1}, True),
    (1.4, 1.25, {"decimals": 1}, False),
    (-0.451, -0.45125, {"decimals": 3}, True),
    (-0.45, -0.45125, {"decimals": 3}, False),
    (0.0, 0.004, {"decimals": 2}, True),
    (0.01, 0.004, {"decimals": 2}, False),  # 0.004 to 2 decimals is 0.00
    (0.01, 0.005, {"decimals": 2}, True),
    (0.02, 0.004, {"decimals": 2}, False),
    (123.5, 123.45, {"decimals": 1}, True),
    (123.6, 123.45, {"decimals": 1}, False),
    # relative and absolute: exact on the boundary as written
    (1.05, 1.0, {"rtol": 0.05, "atol": 0}, True),
    (0.95, 1.0, {"rtol": 0.05, "atol": 0}, True),
    (1.0501, 1.0, {"rtol": 0.05, "atol": 0}, False),
    (1.003, 1.0, {"rtol": 0.003, "atol": 0}, True),
    (1.0031, 1.0, {"rtol": 0.003, "atol": 0}, False),
    (0.3, 0.1 + 0.2, {"rtol": 1e-15, "atol": 0}, True),  # as written, 0.1 + 0.2 is 0.3
    (2.2, 2.0, {"rtol": 0.1, "atol": 0}, True),
    (2.21, 2.0, {"rtol": 0.1, "atol": 0}, False),
    (-1.1, -1.0, {"rtol": 0.0, "atol": 0.1}, True),
]


def tolerance(spec: dict[str, Any]) -> Tolerance:
    if "sigfigs" in spec:
        return Tolerance(ToleranceMode.SIGFIGS, digits=spec["sigfigs"])
    if "decimals" in spec:
        return Tolerance(ToleranceMode.DECIMALS, digits=spec["decimals"])
    return Tolerance(ToleranceMode.RELABS, rtol=spec["rtol"], atol=spec["atol"])


def test_the_table_is_large_and_has_both_verdicts() -> None:
    assert len(ROWS) >= 30
    assert sum(r[3] for r in ROWS) >= 12 and sum(not r[3] for r in ROWS) >= 12


IDS = [f"{s!r}~{k!r}@{t}" for s, k, t, _ in ROWS]


@pytest.mark.parametrize(("submitted", "key", "spec", "right"), ROWS, ids=IDS)
def test_is_close(submitted: float, key: float, spec: dict[str, Any], right: bool) -> None:
    assert is_close(submitted, key, tolerance(spec)) is right


@pytest.mark.parametrize(("submitted", "key", "spec", "right"), ROWS, ids=IDS)
def test_a_network_quantity(submitted: float, key: float, spec: dict[str, Any], right: bool) -> None:
    problem = {"id": "q1", "kind": "network", "given": {"c": key}, "params": {"w": 1.0},
               "forward": {"q": "c*w", "L": "q*q"}, "loss": "L", "ask": ["q"], "tolerance": spec}
    part = parts(grade_answers(load_set(problem), {"q1": {"q": submitted}}))["q"]
    assert (part.verdict.value == "correct") is right, part.feedback


@pytest.mark.parametrize(("submitted", "key", "spec", "right"), ROWS, ids=IDS)
def test_a_constant_expression_key(submitted: float, key: float, spec: dict[str, Any], right: bool) -> None:
    text = yaml.safe_dump({"id": "t", "problems": [{"id": "q", "kind": "expression", "answer": repr(key),
                                                   "tolerance": spec}]})
    problem = load_problem_set(text, "t.yaml").problem("q")
    assert isinstance(problem, ExpressionProblem)
    for answer in (submitted, repr(submitted)):
        result = grade_expression(problem, answer)
        assert (result.verdict.value == "correct") is right, result.feedback
