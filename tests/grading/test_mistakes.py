"""Common mistakes: each one in the catalogue is recognised from the graph, and right answers never are.

Every mistaken value is computed here by hand from the formulas a student would use, not by the
grader's mistake hooks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.grading.mistakes import CATALOGUE
from grader.grading.result import PartResult, Verdict
from grader.problemset.model import NetworkProblem
from grader.solver.world import solve
from tests.conftest import FAST, grade_answers, load_set, make_problem, parts

TIGHT = {"rtol": 0.001, "atol": 1e-9}

# A tanh hidden unit, a sigmoid output and a squared error.
M_VALUES = {"x1": 0.8, "x2": -0.5, "y": 1.0, "w1": 0.6, "w2": -0.4, "b1": 0.1, "v": 2.5, "c": 0.5}
M_FORWARD = {"z1": "w1*x1 + w2*x2 + b1", "h": "tanh(z1)", "z2": "v*h + c", "p": "sigmoid(z2)", "L": "(y - p)^2"}
M_ASK = ["z1", "h", "z2", "p", "L", "dL/dp", "dL/dz2", "dL/dh", "dL/dz1", "dL/dw1", "dL/dw2", "dL/db1", "dL/dv",
         "dL/dc", "next.w1", "next.v", "next.L"]
ETA = 0.5

# A sigmoid neuron with binary cross-entropy, for the logarithm.
B_VALUES = {"x": 1.2, "y": 1.0, "w": 0.7, "b": -0.3}
B_FORWARD = {"z": "w*x + b", "p": "sigmoid(z)", "L": "-(y*log(p) + (1 - y)*log(1 - p))"}


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# A 2-2-2 network in layer form (sigmoid hidden layer, linear outputs, squared error), for the weight
# indices and the paths of a hidden unit that feeds both outputs.
D_X = (0.5, -1.0)
D_W1 = ((0.4, -0.3), (0.2, 0.6))
D_B1 = (0.1, -0.1)
D_W2 = ((0.5, -0.4), (0.3, 0.8))
D_B2 = (0.0, 0.1)
D_T = (1.0, 0.0)


def d_problem() -> dict[str, Any]:
    return {"id": "q1", "kind": "network", "inputs": {"x1": D_X[0], "x2": D_X[1]},
            "targets": {"t1": D_T[0], "t2": D_T[1]},
            "layers": [{"weights": [list(r) for r in D_W1], "biases": list(D_B1), "activation": "sigmoid"},
                       {"weights": [list(r) for r in D_W2], "biases": list(D_B2), "activation": "linear"}],
            "loss": "squared_error", "learning_rate": ETA, "tolerance": TIGHT, "ask": ["dL/da1_1", "dL/dw2_11"]}


def d_by_hand() -> dict[str, float]:
    a1 = [sigmoid(sum(w * x for w, x in zip(row, D_X, strict=True)) + b) for row, b in zip(D_W1, D_B1, strict=True)]
    a2 = [sum(w * a for w, a in zip(row, a1, strict=True)) + b for row, b in zip(D_W2, D_B2, strict=True)]
    d2 = [-2 * (t - a) for t, a in zip(D_T, a2, strict=True)]
    return {"a1_1": a1[0], "a1_2": a1[1], "d2_1": d2[0], "d2_2": d2[1],
            "dL/da1_1": d2[0] * D_W2[0][0] + d2[1] * D_W2[1][0]}


D = d_by_hand()


def m_problem(values: dict[str, float] | None = None, **fields: Any) -> dict[str, Any]:
    v = values or M_VALUES
    return make_problem(M_FORWARD, given={k: v[k] for k in ("x1", "x2", "y")},
                        params={k: v[k] for k in ("w1", "w2", "b1", "v", "c")}, learning_rate=ETA, ask=M_ASK,
                        tolerance=TIGHT, **fields)


def b_problem() -> dict[str, Any]:
    return make_problem(B_FORWARD, given={"x": B_VALUES["x"], "y": B_VALUES["y"]},
                        params={"w": B_VALUES["w"], "b": B_VALUES["b"]}, learning_rate=ETA, tolerance=TIGHT)


def m_by_hand() -> dict[str, float]:
    g = M_VALUES
    z1 = g["w1"] * g["x1"] + g["w2"] * g["x2"] + g["b1"]
    h = math.tanh(z1)
    z2 = g["v"] * h + g["c"]
    p = sigmoid(z2)
    d_p = -2 * (g["y"] - p)
    d_z2 = d_p * p * (1 - p)
    d_h = d_z2 * g["v"]
    d_z1 = d_h * (1 - h * h)
    return {"z1": z1, "h": h, "z2": z2, "p": p, "L": (g["y"] - p) ** 2, "dL/dp": d_p, "dL/dz2": d_z2,
            "dL/dh": d_h, "dL/dz1": d_z1, "dL/dw1": d_z1 * g["x1"], "dL/dw2": d_z1 * g["x2"], "dL/dv": d_z2 * h,
            "dL/dc": d_z2, "next.w1": g["w1"] - ETA * d_z1 * g["x1"], "next.v": g["v"] - ETA * d_z2 * h}


M = m_by_hand()
SIG = sigmoid
TANH_D = 1 - M["h"] ** 2
SIG_D = M["p"] * (1 - M["p"])


# (mistake, problem, quantity, the mistaken value): what a student who makes the mistake writes.
CASES: list[tuple[str, str, str, Callable[[], float]]] = [
    ("activation_derivative_omitted", "M", "dL/dz2", lambda: M["dL/dp"]),
    ("activation_derivative_omitted", "M", "dL/dz1", lambda: M["dL/dh"]),
    ("activation_for_derivative", "M", "dL/dz2", lambda: M["dL/dp"] * M["p"]),
    ("activation_for_derivative", "M", "dL/dz1", lambda: M["dL/dh"] * M["h"]),
    ("derivative_at_activation", "M", "dL/dz2", lambda: M["dL/dp"] * SIG(M["p"]) * (1 - SIG(M["p"]))),
    ("derivative_at_activation", "M", "dL/dz1", lambda: M["dL/dh"] * (1 - math.tanh(M["h"]) ** 2)),
    ("tanh_derivative_not_squared", "M", "dL/dz1", lambda: M["dL/dh"] * (1 - M["h"])),
    ("missing_factor_2", "M", "dL/dp", lambda: -(M_VALUES["y"] - M["p"])),
    ("missing_factor_2", "M", "dL/dz2", lambda: -(M_VALUES["y"] - M["p"]) * SIG_D),
    ("inner_derivative_sign", "M", "dL/dp", lambda: 2 * (M_VALUES["y"] - M["p"])),
    ("wrong_input", "M", "dL/dw1", lambda: M["dL/dz1"] * M_VALUES["x2"]),
    ("wrong_input", "M", "dL/dw2", lambda: M["dL/dz1"] * M_VALUES["x1"]),
    ("pre_activation_as_input", "M", "dL/dv", lambda: M["dL/dz2"] * M["z1"]),
    ("bias_omitted", "M", "z1", lambda: M_VALUES["w1"] * M_VALUES["x1"] + M_VALUES["w2"] * M_VALUES["x2"]),
    ("sigmoid_exponent_sign", "M", "p", lambda: 1 / (1 + math.exp(M["z2"]))),
    ("log10_for_ln", "B", "L", lambda: -math.log10(sigmoid(B_VALUES["w"] * B_VALUES["x"] + B_VALUES["b"]))),
    ("update_wrong_sign", "M", "next.w1", lambda: M_VALUES["w1"] + ETA * M["dL/dw1"]),
    ("update_wrong_sign", "M", "next.v", lambda: M_VALUES["v"] + ETA * M["dL/dv"]),
    ("learning_rate_omitted", "M", "next.w1", lambda: M_VALUES["w1"] - M["dL/dw1"]),
    ("learning_rate_omitted", "M", "next.v", lambda: M_VALUES["v"] - M["dL/dv"]),
    ("sign_error", "M", "z1", lambda: -M["z1"]),
    ("value_wrong_sign", "M", "z1", lambda: M_VALUES["w1"] * M_VALUES["x1"] - M_VALUES["w2"] * M_VALUES["x2"]
     + M_VALUES["b1"]),
    ("neighbour_value", "M", "z1", lambda: M_VALUES["w1"] * M_VALUES["x1"] + M_VALUES["w1"] * M_VALUES["x2"]
     + M_VALUES["b1"]),
    ("decimal_slip", "M", "z2", lambda: M_VALUES["v"] * M["h"] / 10 + M_VALUES["c"]),
    ("decimal_slip", "M", "dL/dw1", lambda: 100 * M["dL/dw1"]),
    ("learning_rate_twice", "M", "next.w1", lambda: M_VALUES["w1"] - ETA * ETA * M["dL/dw1"]),
    ("learning_rate_twice", "M", "next.v", lambda: M_VALUES["v"] - ETA * ETA * M["dL/dv"]),
    ("wrong_target", "M", "dL/dp", lambda: -2 * (0.0 - M["p"])),
    ("transposed_weight", "D", "dL/da1_1", lambda: D["d2_1"] * D_W2[0][0] + D["d2_2"] * D_W2[0][1]),
    ("path_omitted", "D", "dL/da1_1", lambda: D["d2_1"] * D_W2[0][0]),
    ("sign_error", "M", "p", lambda: -M["p"]),
]


def test_every_mistake_in_the_catalogue_has_a_case() -> None:
    assert {c[0] for c in CASES} == set(CATALOGUE)


def graded_part(which: str, quantity: str, value: float) -> PartResult:
    problem = {"M": m_problem, "B": b_problem, "D": d_problem}[which]()
    pid = problem["id"]
    return parts(grade_answers(load_set(problem), {pid: {quantity: value}}), pid)[quantity]


@pytest.mark.parametrize(("name", "which", "quantity", "mistaken"), CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_a_mistake_is_named(name: str, which: str, quantity: str, mistaken: Callable[[], float]) -> None:
    value = mistaken()
    part = graded_part(which, quantity, value)
    assert abs(value - part.expected) > 0.001 * abs(part.expected) + 1e-9, "the mistake must change the answer"
    assert part.verdict is Verdict.INCORRECT
    assert part.misconception == name
    assert part.feedback.startswith("Not correct.") and len(part.feedback) > len("Not correct. ")


def test_the_key_by_hand_matches() -> None:
    """The hand formulas above are the grader's key (else the cases would test nothing)."""
    problem = load_set(m_problem()).problems[0]
    assert isinstance(problem, NetworkProblem)
    world = solve(problem, {})
    for name, expected in M.items():
        assert world.value(problem.quantities[name]) == pytest.approx(expected, rel=1e-12), name


def test_a_bias_left_out_of_one_sum_is_named_given_the_sums_before_it() -> None:
    z2 = M_VALUES["v"] * M["h"]  # c left out; z1 (with its bias) written down right
    got = parts(grade_answers(load_set(m_problem()), {"q1": {"z1": M["z1"], "z2": z2}}))
    assert got["z2"].misconception == "bias_omitted"


def test_a_bias_left_out_of_one_sum_is_named_on_its_own() -> None:
    """Only the output's bias is left out: the hidden sum, not written down, had its bias."""
    got = parts(grade_answers(load_set(m_problem()), {"q1": {"z2": M_VALUES["v"] * M["h"]}}))
    assert got["z2"].verdict is Verdict.INCORRECT
    assert got["z2"].misconception == "bias_omitted"


def test_feedback_explains_the_tanh_derivative() -> None:
    part = graded_part("M", "dL/dz1", M["dL/dh"] * (1 - M["h"]))
    assert "1 - tanh(z)^2" in part.feedback


def test_a_mistake_carried_forward_is_follow_through_not_a_new_mistake() -> None:
    slip = M["dL/dh"] * (1 - M["h"])  # tanh' as 1 - tanh, then used correctly
    got = parts(grade_answers(load_set(m_problem()), {"q1": {"dL/dz1": slip, "dL/dw1": slip * M_VALUES["x1"],
                                                             "dL/db1": slip}}))
    assert got["dL/dz1"].misconception == "tanh_derivative_not_squared"
    for q in ("dL/dw1", "dL/db1"):
        assert got[q].verdict is Verdict.FOLLOW_THROUGH and got[q].misconception is None


def test_a_wrong_answer_that_matches_no_mistake_is_not_labelled() -> None:
    part = graded_part("M", "dL/dw1", 0.123)
    assert part.verdict is Verdict.INCORRECT and part.misconception is None


def key_answers(problem: NetworkProblem) -> dict[str, float]:
    world = solve(problem, {})
    return {q.name: world.value(q) for q in problem.ask}


def test_right_answers_are_never_labelled() -> None:
    ps = load_set(m_problem())
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    for part in parts(grade_answers(ps, {"q1": key_answers(problem)})).values():
        assert part.verdict is Verdict.CORRECT and part.misconception is None, part.quantity


def test_a_mistake_without_effect_is_not_named_for_a_right_answer() -> None:
    """With b1 = 0 leaving the bias out changes nothing, so the right z1 is just correct."""
    ps = load_set(m_problem({**M_VALUES, "b1": 0.0}))
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    part = parts(grade_answers(ps, {"q1": {"z1": key_answers(problem)["z1"]}}))["z1"]
    assert part.verdict is Verdict.CORRECT and part.misconception is None


weights = st.floats(min_value=-2, max_value=2, allow_nan=False).filter(lambda x: abs(x) > 0.05)


@FAST
@given(w1=weights, w2=weights, b1=weights, v=weights, c=weights, x1=weights, x2=weights)
def test_right_answers_are_never_labelled_for_any_weights(w1: float, w2: float, b1: float, v: float, c: float,
                                                          x1: float, x2: float) -> None:
    values = {"x1": x1, "x2": x2, "y": 1.0, "w1": w1, "w2": w2, "b1": b1, "v": v, "c": c}
    ps = load_set(make_problem(M_FORWARD, given={"x1": x1, "x2": x2, "y": 1.0},
                               params={k: values[k] for k in ("w1", "w2", "b1", "v", "c")}, learning_rate=ETA,
                               ask=M_ASK))
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    answers = {q: float(f"{x:.6g}") for q, x in key_answers(problem).items()}
    for part in parts(grade_answers(ps, {"q1": answers})).values():
        assert part.verdict is Verdict.CORRECT and part.misconception is None, part.quantity


def test_relu_derivative_taken_as_one_on_the_dead_side() -> None:
    """relu'(z) = 0 for z < 0; a student who multiplies by 1 there left the derivative out."""
    problem = make_problem({"z": "w*x", "h": "relu(z)", "out": "v*h + c", "L": "0.5*(out - y)^2"},
                           given={"x": -1.0, "y": 0.5}, params={"w": 0.8, "v": 0.9, "c": 0.1}, tolerance=TIGHT)
    d_out = (0.1 - 0.5)  # h = relu(-0.8) = 0, so out = c
    part = parts(grade_answers(load_set(problem), {"q1": {"dL/dw": d_out * 0.9 * 1.0 * -1.0}}))["dL/dw"]
    assert part.expected == 0.0
    assert part.misconception == "activation_derivative_omitted"
