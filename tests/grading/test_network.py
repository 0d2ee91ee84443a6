"""Grading a network problem: each verdict, follow-through credit, carried values, warnings."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from grader.grading.answers import read_answers
from grader.grading.grade import grade
from grader.grading.result import PartResult, Verdict
from grader.problemset.model import NetworkProblem
from grader.problemset.source import AnswersError
from grader.solver.world import solve
from tests.conftest import FAST, SPEC_Q1, grade_answers, load_set, make_problem, parts

W = {"w1": 0.5, "w2": -0.3, "w3": 0.8, "w4": 0.2, "w5": 1.0, "w6": -1.5, "b1": 0.1, "b2": -0.1, "b3": 0.05}
X1, X2, Y, ETA = 1.0, -2.0, 1.0, 0.1
H2 = math.tanh(0.3)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def key() -> dict[str, float]:
    ps = load_set(SPEC_Q1)
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    world = solve(problem, {})
    return {q.name: world.value(q) for q in problem.quantities.values()}


KEY = key()


def graded(answers: Any, **set_fields: Any) -> dict[str, PartResult]:
    return parts(grade_answers(load_set(SPEC_Q1, **set_fields), {"q1": answers}))


def test_the_key_answers_are_all_correct() -> None:
    answers = {q: round(KEY[q], 4) for q in SPEC_Q1["ask"]}
    result = grade_answers(load_set(SPEC_Q1), {"q1": answers})
    for part in parts(result).values():
        assert part.verdict is Verdict.CORRECT and part.credit == 1.0 and part.misconception is None
    assert result.score == result.max_score == len(SPEC_Q1["ask"])
    assert result.warnings == []


def test_correct_from_text() -> None:
    got = graded({"h1": "tanh(1.2)", "p": "1/(1 + e^-0.446686)", "z1": "6/5"})
    assert {q: got[q].verdict for q in ("h1", "p", "z1")} == dict.fromkeys(("h1", "p", "z1"), Verdict.CORRECT)
    assert got["z1"].submitted == pytest.approx(1.2)


@pytest.mark.parametrize("answers", [{}, None, {"z1": None}])
def test_missing(answers: Any) -> None:
    got = graded(answers)
    part = got["z1"]
    assert part.verdict is Verdict.MISSING and part.credit == 0.0 and part.submitted is None
    assert part.expected == pytest.approx(1.2)


def test_missing_problem_in_the_answers_file() -> None:
    result = grade_answers(load_set(SPEC_Q1), {})
    assert {p.verdict for p in parts(result).values()} == {Verdict.MISSING}
    assert result.score == 0


@pytest.mark.parametrize(("raw", "fragment"), [("abc", "abc"), ("0,5", "decimal point"), (True, "true"),
                                               ([1.2], "list"), ("1.2 + ", ""), ("1/0", "")])
def test_invalid_says_why(raw: Any, fragment: str) -> None:
    got = graded({"z1": raw, "z2": 0.3})
    part = got["z1"]
    assert part.verdict is Verdict.INVALID and part.credit == 0.0
    assert "Could not read" in part.feedback and fragment in part.feedback
    assert got["z2"].verdict is Verdict.CORRECT


def test_invalid_feedback_says_where() -> None:
    part = graded({"z1": "1.2 + ?"})["z1"]
    assert part.verdict is Verdict.INVALID and "column 7" in part.feedback


def test_answers_to_a_problem_that_are_not_a_mapping_are_invalid() -> None:
    got = graded("z1 = 1.2")
    assert {p.verdict for p in got.values()} == {Verdict.INVALID}
    assert "must map quantities to numbers" in got["z1"].feedback


def test_incorrect() -> None:
    part = graded({"z1": 5.0})["z1"]
    assert part.verdict is Verdict.INCORRECT and part.credit == 0.0 and part.misconception is None
    assert part.submitted == 5.0 and part.expected == pytest.approx(1.2)


def test_incorrect_close_answer_is_told_to_keep_digits() -> None:
    part = graded({"h1": 0.82})["h1"]  # 1.6% off, with rtol 1% and atol 0.0005
    assert part.verdict is Verdict.INCORRECT
    assert "digits" in part.feedback


def test_follow_through_from_an_earlier_slip() -> None:
    z1 = 1.1
    h1 = math.tanh(z1)
    z3 = W["w5"] * h1 + W["w6"] * H2 + W["b3"]
    p = sigmoid(z3)
    got = graded({"z1": z1, "h1": round(h1, 4), "z3": round(z3, 4), "p": round(p, 4), "L": round(-math.log(p), 4)})
    assert got["z1"].verdict is Verdict.INCORRECT
    for q in ("h1", "z3", "p", "L"):
        assert got[q].verdict is Verdict.FOLLOW_THROUGH, q
        assert got[q].credit == 1.0
        assert got[q].misconception is None
        assert got[q].expected == pytest.approx(KEY[q])  # the key stays the key
    assert "z1 = 1.1" in got["h1"].feedback


def test_follow_through_credit_set_and_problem_level() -> None:
    z1 = 1.1
    answers = {"z1": z1, "h1": math.tanh(z1)}
    assert graded(answers)["h1"].credit == 1.0
    half = grade_answers(load_set(SPEC_Q1, follow_through_credit=0.5), {"q1": answers})
    assert parts(half)["h1"].verdict is Verdict.FOLLOW_THROUGH
    assert parts(half)["h1"].credit == 0.5
    assert half.score == 0.5
    quarter = load_set({**SPEC_Q1, "follow_through_credit": 0.25}, follow_through_credit=0.5)
    assert parts(grade_answers(quarter, {"q1": answers}))["h1"].credit == 0.25
    none = load_set({**SPEC_Q1, "follow_through_credit": 0}, follow_through_credit=0.5)
    part = parts(grade_answers(none, {"q1": answers}))["h1"]
    assert part.verdict is Verdict.FOLLOW_THROUGH and part.credit == 0.0


def test_follow_through_carries_values_through_quantities_not_submitted() -> None:
    z1 = 1.1  # h1 is not submitted: the student's h1 is tanh(1.1)
    z3 = W["w5"] * math.tanh(z1) + W["w6"] * H2 + W["b3"]
    got = graded({"z1": z1, "z3": round(z3, 4)})
    assert got["z3"].verdict is Verdict.FOLLOW_THROUGH


def test_follow_through_in_the_reverse_pass_through_quantities_not_submitted() -> None:
    d_z3 = -0.5  # dL/dh1 and dL/dz1 are not submitted
    d_w1 = d_z3 * W["w5"] * (1 - math.tanh(1.2) ** 2) * X1
    got = graded({"dL/dz3": d_z3, "dL/dw1": round(d_w1, 4), "dL/dw5": round(d_z3 * math.tanh(1.2), 4),
                  "dL/db3": d_z3})
    assert got["dL/dz3"].verdict is Verdict.INCORRECT
    for q in ("dL/dw1", "dL/dw5", "dL/db3"):
        assert got[q].verdict is Verdict.FOLLOW_THROUGH, q


def test_follow_through_from_a_forward_slip_into_the_reverse_pass() -> None:
    z1 = 1.1
    h1 = math.tanh(z1)
    z3 = W["w5"] * h1 + W["w6"] * H2 + W["b3"]
    d_z3 = sigmoid(z3) - Y
    got = graded({"z1": z1, "dL/dz3": round(d_z3, 4), "dL/dw5": round(d_z3 * h1, 4),
                  "dL/dw1": round(d_z3 * W["w5"] * (1 - h1**2) * X1, 4)})
    for q in ("dL/dz3", "dL/dw5", "dL/dw1"):
        assert got[q].verdict is Verdict.FOLLOW_THROUGH, q


def test_follow_through_into_the_update_and_the_next_pass() -> None:
    d_w1, d_w5 = -0.2, -0.1
    next_w1, next_w5 = W["w1"] - ETA * d_w1, W["w5"] - ETA * d_w5
    new = {k: v - ETA * KEY[f"dL/d{k}"] for k, v in W.items()}
    new["w1"], new["w5"] = next_w1, next_w5
    z1 = new["w1"] * X1 + new["w2"] * X2 + new["b1"]
    z2 = new["w3"] * X1 + new["w4"] * X2 + new["b2"]
    z3 = new["w5"] * math.tanh(z1) + new["w6"] * math.tanh(z2) + new["b3"]
    next_l = -math.log(sigmoid(z3))
    got = graded({"dL/dw1": d_w1, "dL/dw5": d_w5, "next.w1": round(next_w1, 4), "next.w5": round(next_w5, 4),
                  "next.L": round(next_l, 4)})
    for q in ("next.w1", "next.w5", "next.L"):
        assert got[q].verdict is Verdict.FOLLOW_THROUGH, q


def test_unasked_working_is_reported_and_never_buys_credit() -> None:
    # SPEC 6.1.4: dL/dz1 is not asked; written down wrong, it is shown work (no points), and the asked
    # dL/dw1 computed from it bears the slip instead of following through from it
    d_z1 = -0.2
    got = graded({"dL/dz1": d_z1, "dL/dw1": d_z1 * X1})
    assert got["dL/dz1"].verdict is Verdict.INCORRECT and got["dL/dz1"].points == 0 and got["dL/dz1"].shown
    assert got["dL/dw1"].verdict is Verdict.INCORRECT
    right = graded({"dL/dz1": round(KEY["dL/dw1"] / X1, 6), "dL/dw1": round(KEY["dL/dw1"], 6)})
    assert right["dL/dz1"].verdict is Verdict.CORRECT and right["dL/dz1"].score == 0
    assert right["dL/dw1"].verdict is Verdict.CORRECT


def test_leaving_out_tanh_prime_stays_wrong_with_the_equally_wrong_unasked_step() -> None:
    # the measurement: dL/dw1 without tanh'(z1), and the unasked dL/dz1 = w5 * dL/dz3 (no tanh')
    d_z1 = round(W["w5"] * KEY["dL/dz3"], 4)
    alone = graded({"dL/dw1": round(d_z1 * X1, 4)})
    shown = graded({"dL/dz1": d_z1, "dL/dw1": round(d_z1 * X1, 4)})
    assert alone["dL/dw1"].verdict is Verdict.INCORRECT
    assert shown["dL/dw1"].verdict is Verdict.INCORRECT and shown["dL/dw1"].score == 0


def test_local_derivatives_read_the_students_own_outputs() -> None:
    p = 0.65  # sigmoid'(z3) = p*(1 - p) from the student's p; dL/dz3 = p - y
    got = graded({"p": p, "dL/dz3": p - Y})
    assert got["p"].verdict is Verdict.INCORRECT
    assert got["dL/dz3"].verdict is Verdict.FOLLOW_THROUGH


def test_no_follow_through_for_what_does_not_depend_on_the_slip() -> None:
    got = graded({"z1": 1.1, "h2": math.tanh(1.1)})
    assert got["h2"].verdict is Verdict.INCORRECT


def test_no_follow_through_without_an_earlier_slip() -> None:
    got = graded({"z1": 1.2, "h1": 0.9})
    assert got["h1"].verdict is Verdict.INCORRECT


def test_wrong_even_given_the_slip_is_incorrect() -> None:
    got = graded({"z1": 1.1, "h1": 0.5})
    assert got["h1"].verdict is Verdict.INCORRECT and got["h1"].credit == 0.0


def test_points_weigh_the_score() -> None:
    ps = load_set({**SPEC_Q1, "points": {"default": 1, "L": 3, "next.L": 2}})
    result = grade_answers(ps, {"q1": {"L": KEY["L"], "z1": 1.2, "next.L": 99}})
    assert result.max_score == len(SPEC_Q1["ask"]) + 2 + 1
    assert result.score == 3 + 1
    assert parts(result)["L"].score == 3


def test_unknown_quantity_in_the_answers_is_a_warning() -> None:
    result = grade_answers(load_set(SPEC_Q1), {"q1": {"z9": 1.0, "z1": 1.2}})
    assert any("z9" in w and "q1" in w for w in result.warnings)
    assert result.to_dict()["warnings"] == result.warnings
    assert parts(result)["z1"].verdict is Verdict.CORRECT


def test_answers_for_an_unknown_problem_are_a_warning() -> None:
    result = grade_answers(load_set(SPEC_Q1), {"q1": {"z1": 1.2}, "q9": {"z1": 1.0}})
    assert any("q9" in w for w in result.warnings)


@pytest.mark.parametrize("spelling", ["∂L/∂w1", "dL / dw1", "dL/d w1"])
def test_quantity_spellings_in_answers(spelling: str) -> None:
    got = graded({spelling: KEY["dL/dw1"]})
    assert got["dL/dw1"].verdict is Verdict.CORRECT


def test_answers_for_another_problem_set_are_refused() -> None:
    answers = read_answers("problem_set: other\nstudent: s1\nanswers: {q1: {z1: 1.2}}\n", "a.yaml")
    with pytest.raises(AnswersError) as info:
        grade(load_set(SPEC_Q1), answers)
    assert "other" in info.value.message and info.value.field == "problem_set"


def test_the_result_has_the_spec_shape() -> None:
    result = grade_answers(load_set(SPEC_Q1), {"q1": {"dL/dw1": -0.119, "z1": 1.1, "h1": math.tanh(1.1)}})
    d = result.to_dict()
    assert set(d) == {"problem_set", "student", "score", "max_score", "problems"}
    assert (d["problem_set"], d["student"]) == ("t-set", "s1")
    assert isinstance(d["score"], float) and isinstance(d["max_score"], float)
    (problem,) = d["problems"]
    assert set(problem) >= {"id", "score", "max_score", "parts"}
    assert problem["id"] == "q1" and len(problem["parts"]) == len(SPEC_Q1["ask"])
    by_q = {p["quantity"]: p for p in problem["parts"]}
    assert set(by_q["dL/dw1"]) >= {"quantity", "submitted", "expected", "verdict", "credit", "misconception",
                                   "feedback"}
    assert by_q["dL/dw1"]["submitted"] == -0.119
    assert by_q["dL/dw1"]["expected"] == -0.119003  # six significant figures, as in the SPEC
    assert by_q["dL/dw1"]["verdict"] == "correct" and by_q["dL/dw1"]["credit"] == 1.0
    assert by_q["h1"]["verdict"] == "follow_through"
    assert by_q["z1"]["verdict"] == "incorrect"
    assert by_q["z2"]["verdict"] == "missing" and by_q["z2"]["submitted"] is None
    assert {p["verdict"] for p in problem["parts"]} <= {v.value for v in Verdict}
    assert d["score"] == 2.0 and d["max_score"] == float(len(SPEC_Q1["ask"]))


def test_follow_through_feedback_names_the_nearest_answer_and_the_first_slip() -> None:
    h1 = round(math.tanh(1.1), 4)
    z3 = W["w5"] * h1 + W["w6"] * H2 + W["b3"]
    got = graded({"z1": 1.1, "h1": h1, "z3": round(z3, 4), "p": round(sigmoid(z3), 4)})
    assert "z1 = 1.1" in got["h1"].feedback
    assert "h1 = 0.8005" in got["z3"].feedback and "z1 = 1.1" in got["z3"].feedback
    assert f"z3 = {round(z3, 4):g}" in got["p"].feedback and "z1 = 1.1" in got["p"].feedback


ALL_ASKED = [q for q in KEY if not (q in W or q in ("x1", "x2", "y") or q.startswith("next.d"))]


@FAST
@given(slip=st.sampled_from(ALL_ASKED), shift=st.floats(min_value=0.05, max_value=1.0))
def test_one_slip_carried_through_everything_costs_one_part(slip: str, shift: float) -> None:
    """A student who slips once and computes everything else right from their own numbers loses only that part."""
    ps = load_set({**SPEC_Q1, "ask": ALL_ASKED})
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    wrong = KEY[slip] + shift * (1 + abs(KEY[slip]))
    theirs = solve(problem, {}, {slip: wrong})
    answers = {q: float(f"{theirs.value(problem.quantities[q]):.6g}") for q in ALL_ASKED}
    assume(all(math.isfinite(x) for x in answers.values()))  # a p pushed past 1 has no log
    answers[slip] = wrong
    got = parts(grade_answers(ps, {"q1": answers}))
    assert got[slip].verdict is Verdict.INCORRECT
    for q, part in got.items():
        if q != slip:
            assert part.verdict in (Verdict.CORRECT, Verdict.FOLLOW_THROUGH), (q, part.feedback)


def test_rounding_amplified_past_the_tolerance_is_not_a_slip() -> None:
    """z = 1.004 is accepted (1% tolerance); exp(20 z) from it is 8% off the key but follows exactly."""
    ps = load_set(make_problem({"z": "w*x", "q": "exp(20*z)", "L": "q"}, given={"x": 1.0}, params={"w": 1.0},
                               ask=["z", "q"]))
    rounded = 1.004
    got = parts(grade_answers(ps, {"q1": {"z": rounded, "q": math.exp(20 * rounded)}}))
    assert got["z"].verdict is Verdict.CORRECT
    assert got["q"].verdict is Verdict.CORRECT and got["q"].credit == 1.0
    assert "own rounded" in got["q"].feedback
    wrong = parts(grade_answers(ps, {"q1": {"z": rounded, "q": math.exp(20 * rounded) * 1.05}}))
    assert wrong["q"].verdict is Verdict.INCORRECT


@pytest.mark.parametrize("huge", [10**400, -(10**400), "1e309", 1.0e309, "exp(1000)", "1e308*10"])
def test_a_number_no_float_holds_is_invalid_alone(huge: Any) -> None:
    import json

    answers = {"z1": huge, "z2": KEY["z2"], "h1": KEY["h1"], "dL/dw1": KEY["dL/dw1"], "next.w1": 1e308,
               "p": -1e308}
    result = grade_answers(load_set(SPEC_Q1), {"q1": answers})
    got = parts(result)
    assert got["z1"].verdict is Verdict.INVALID and "too large to compare" in got["z1"].feedback
    assert got["z2"].verdict is Verdict.CORRECT and got["h1"].verdict is Verdict.CORRECT
    assert got["dL/dw1"].verdict is Verdict.CORRECT
    assert got["next.w1"].verdict is Verdict.INCORRECT and got["p"].verdict is Verdict.INCORRECT
    shown = json.loads(json.dumps(result.to_dict(), allow_nan=False))  # strict JSON: no Infinity, no NaN
    z1 = next(p for p in shown["problems"][0]["parts"] if p["quantity"] == "z1")
    assert z1["submitted"] == (huge if isinstance(huge, str) else str(huge) if isinstance(huge, int) else "inf")
