"""The judging rules of SPEC 6.1 on hand-made cases: rounding is right, slips are never right."""

from __future__ import annotations

import math
from typing import Any

import pytest

from grader.grading.result import PartResult, Verdict
from grader.grading.rounding import Habit, allowance, is_slip, protected_unit, read_digits
from grader.problemset.model import NetworkProblem, Tolerance, ToleranceMode
from grader.solver.world import solve
from tests.conftest import SPEC_Q1, grade_answers, load_set, parts

DEFAULT_Q1 = {k: v for k, v in SPEC_Q1.items() if k != "tolerance"}  # the default tolerance
DOWNSTREAM = ["dL/dw1", "dL/dw5", "dL/db3", "next.w1", "next.w5", "next.L"]


def key_of(spec: dict[str, Any]) -> dict[str, float]:
    problem = load_set(spec).problems[0]
    assert isinstance(problem, NetworkProblem)
    world = solve(problem, {})
    return {q.name: world.value(q) for q in problem.quantities.values()}


KEY = key_of(DEFAULT_Q1)


def graded(answers: dict[str, Any], **changes: Any) -> dict[str, PartResult]:
    return parts(grade_answers(load_set({**DEFAULT_Q1, **changes}), {"q1": answers}))


def carried_forward(spec: dict[str, Any], answers: dict[str, Any], names: list[str], digits: int) -> None:
    """Fill in ``names``, each computed exactly from the answers before it and rounded to ``digits`` decimals."""
    problem = load_set(spec).problems[0]
    assert isinstance(problem, NetworkProblem)
    for name in names:
        world = solve(problem, {}, {k: float(v) for k, v in answers.items()})
        answers[name] = round(world.value(problem.quantities[name]), digits)


# --- what written digits stand for


@pytest.mark.parametrize(("raw", "unit", "radius", "decimals", "sigfigs"), [
    (0.8337, 1e-4, 5e-5, 4, 4), ("0.8340", 1e-4, 5e-5, 4, 4), ("-3.90e-02", 1e-4, 5e-5, 4, 3),
    (1.5e-05, 1e-6, 5e-7, 6, 2), (0, 1.0, 0.0, None, None), ("12", 1.0, 0.0, None, None),
    ("1/3", None, 0.0, None, None), (0.0, 0.1, 0.0, None, None),
])
def test_the_digits_of_a_written_number(raw: Any, unit: float | None, radius: float, decimals: int | None,
                                        sigfigs: int | None) -> None:
    d = read_digits(raw)
    assert (d.unit is None) == (unit is None)
    if unit is not None and d.unit is not None:
        assert math.isclose(d.unit, unit)
    assert math.isclose(d.radius, radius, rel_tol=1e-5, abs_tol=1e-15)
    assert (d.decimals, d.sigfigs) == (decimals, sigfigs)


def test_the_protected_rounding_is_4_decimals_or_3_significant_figures_the_coarser() -> None:
    assert math.isclose(protected_unit(0.8337), 1e-3)  # 3 s.f. of a value near 1
    assert math.isclose(protected_unit(0.000123), 1e-4)  # 4 decimals of a small one
    assert math.isclose(protected_unit(123.4), 1.0)


def test_the_allowance_is_for_the_default_relative_tolerance_only() -> None:
    assert allowance(Tolerance(), 1e-4, 1.2e-5) > 0
    assert allowance(Tolerance(), 1e-2, 0.8337) == 0  # 2 decimals of 0.83: coarser than protected
    assert allowance(Tolerance(rtol=0.001), 1e-4, 1.2e-5) == 0  # the instructor asked for more
    assert allowance(Tolerance(ToleranceMode.DECIMALS, digits=2), 1e-4, 1.2e-5) == 0


def test_a_habit_rounds_unwritten_values_the_students_way_never_more_coarsely() -> None:
    habit = Habit.of([read_digits("0.834"), read_digits("0.0390")])  # 3 s.f.
    assert math.isclose(habit.radius(12.3456), 0.0456, rel_tol=1e-4)  # 12.3
    assert habit.radius(1.2) == 0  # held exactly by those digits
    coarse = Habit.of([read_digits("0.8")])  # 1 decimal: more than protected
    assert coarse.radius(0.8337) <= 0.5 * protected_unit(0.8337) * 1.01


@pytest.mark.parametrize(("value", "reference", "unit", "slip"), [
    (-0.119, 0.119, 1e-3, True), (0.238, 0.119, 1e-3, True), (0.0595, 0.119, 1e-4, True),
    (0.0, 0.119, 1e-4, True), (0.1190, 0.119, 1e-4, False), (0.12, 0.119, 1e-2, False),
    (-1e-9, 1e-9, 1e-9, True), (0.0, 4e-5, 1e-4, False),  # within one unit of the last digit: not a slip
])
def test_what_is_a_slip(value: float, reference: float, unit: float, slip: bool) -> None:
    assert is_slip(value, reference, unit) is slip


# --- SPEC 6.1.1: rounded work is right


@pytest.mark.parametrize("decimals", [4, 5, 6])
def test_the_key_rounded_to_4_or_more_decimals_is_correct_however_small(decimals: int) -> None:
    small = {**DEFAULT_Q1, "given": {"x1": 0.001, "x2": -0.002, "y": 1.0}}
    key = key_of(small)
    answers = {n: round(key[n], decimals) for n in ["dL/dw1", "dL/dw2", "dL/dw3", "dL/dw4"]}
    got = graded(answers, given=small["given"], ask=list(answers))
    assert {n: p.verdict for n, p in got.items()} == dict.fromkeys(answers, Verdict.CORRECT), got


def test_two_decimals_of_a_small_value_are_not_enough() -> None:
    got = graded({"dL/dw1": round(KEY["dL/dw1"], 2)}, ask=["dL/dw1"])  # -0.12 for -0.119
    assert got["dL/dw1"].verdict is Verdict.CORRECT  # within 1 %
    small = {**DEFAULT_Q1, "given": {"x1": 0.001, "x2": -0.002, "y": 1.0}}
    key = key_of(small)
    got = graded({"dL/dw1": round(key["dL/dw1"], 2)}, given=small["given"], ask=["dL/dw1"])
    assert got["dL/dw1"].verdict is Verdict.INCORRECT  # 0.0 for -1.2e-4


def test_rounding_carried_forward_is_correct_never_follow_through() -> None:
    """The measured hole: with {decimals: 4} and half credit, exact 4-decimal rounding lost credit downstream."""
    spec = {**DEFAULT_Q1, "tolerance": {"decimals": 4}, "follow_through_credit": 0.5}
    answers: dict[str, Any] = {}
    carried_forward(spec, answers, ["z1", "z2", "h1", "h2", "z3", "p", "L", "dL/dz3", *DOWNSTREAM], 4)
    got = parts(grade_answers(load_set(spec), {"q1": answers}))
    assert {n: p.verdict for n, p in got.items()} == dict.fromkeys(answers, Verdict.CORRECT), got
    assert sum(p.score for p in got.values()) == sum(p.points for p in got.values())


# --- SPEC 6.1.2: a slip is never right


def test_a_wide_absolute_tolerance_still_refuses_the_wrong_sign_of_a_value_it_cannot_tell_apart() -> None:
    small = {**DEFAULT_Q1, "given": {"x1": 0.001, "x2": -0.002, "y": 1.0}, "tolerance": {"atol": 0.0005}}
    key = key_of(small)
    g = key["dL/dw1"]
    assert abs(g) < 5e-4
    got = graded({"dL/dw1": f"{-g:.3e}"}, **{k: small[k] for k in ("given", "tolerance")}, ask=["dL/dw1"])
    assert got["dL/dw1"].verdict is Verdict.INCORRECT


def test_the_tiny_default_atol_does_not_accept_the_wrong_sign() -> None:
    tiny = {**DEFAULT_Q1, "given": {"x1": 1e-9, "x2": 0.0, "y": 1.0}}
    key = key_of(tiny)
    g = key["dL/dw1"]
    got = graded({"dL/dw1": f"{-g:.4e}"}, given=tiny["given"], ask=["dL/dw1"])
    assert got["dL/dw1"].verdict is Verdict.INCORRECT


def test_decimal_places_refuse_half_the_value() -> None:
    got = graded({"dL/dw1": round(KEY["dL/dw1"] / 2, 4)}, tolerance={"decimals": 1}, ask=["dL/dw1"])
    assert got["dL/dw1"].verdict is Verdict.INCORRECT  # -0.0595 rounds to -0.1 like the key, but is half of it


# --- SPEC 6.1.3: updates (see also test_steps.py)


@pytest.mark.parametrize("kind", ["no step", "uphill", "no rate"])
def test_update_slips_with_a_small_learning_rate_are_never_right(kind: str) -> None:
    spec = {**DEFAULT_Q1, "learning_rate": 0.01}
    key = key_of(spec)
    g = key["dL/dw1"]
    value = {"no step": 0.5, "uphill": 0.5 + 0.01 * g, "no rate": 0.5 - g}[kind]
    got = graded({"dL/dw1": round(g, 4), "next.w1": f"{value:.6f}"}, learning_rate=0.01)
    assert got["next.w1"].verdict is Verdict.INCORRECT, got["next.w1"]


# --- SPEC 5 and 6.1.4: follow-through, what it rests on, what it says


def slipped_in_dz3() -> dict[str, Any]:
    answers: dict[str, Any] = {n: round(KEY[n], 4) for n in ["z1", "z2", "h1", "h2", "z3", "p", "L"]}
    answers["dL/dz3"] = round(KEY["dL/dz3"] * 1.5, 4)
    carried_forward(DEFAULT_Q1, answers, DOWNSTREAM, 4)
    return answers


def test_a_slip_costs_once_and_is_carried() -> None:
    got = graded(slipped_in_dz3())
    assert got["dL/dz3"].verdict is Verdict.INCORRECT
    assert all(got[n].verdict is Verdict.FOLLOW_THROUGH for n in DOWNSTREAM), got
    assert "dL/dz3 = -0.5852, which was off" in got["dL/dw1"].feedback
    assert "dL/dw1 = " in got["next.w1"].feedback and "slip in dL/dz3" in got["next.w1"].feedback


def test_follow_through_names_only_the_slips_the_value_rests_on() -> None:
    answers = slipped_in_dz3()
    answers["z1"] = 1.3  # an independent slip: the gradients read h1, which is written and right
    got = graded(answers)
    assert got["z1"].verdict is Verdict.INCORRECT
    assert got["dL/dw1"].verdict is Verdict.FOLLOW_THROUGH
    assert "z1" not in got["dL/dw1"].feedback and "z1" not in got["next.w1"].feedback


def test_a_written_right_value_cuts_the_slip_above_it() -> None:
    answers: dict[str, Any] = {n: round(KEY[n], 4) for n in ["z2", "h1", "h2", "z3", "p", "L"]}
    answers["z1"] = 1.3  # wrong, but h1 is written from the right z1
    got = graded(answers)
    assert got["z1"].verdict is Verdict.INCORRECT
    assert all(got[n].verdict is Verdict.CORRECT for n in ["h1", "z3", "p", "L"])


def test_a_wrong_answer_after_a_slip_says_what_is_right_given_the_students_own_values() -> None:
    answers = slipped_in_dz3()
    answers["dL/dw1"] = -0.3
    got = graded(answers)["dL/dw1"]
    assert got.verdict is Verdict.INCORRECT
    own = -0.5852 * (1 - math.tanh(1.2) ** 2) * 1.0 * 1.0  # dL/dz3 * w5 * tanh'(z1) * x1
    assert f"the right value would be {own:.4g}" in got.feedback
    assert "would be" not in got.hidden  # not when expected values are hidden


def test_unasked_wrong_working_never_buys_credit() -> None:
    """The measured hole: an unasked, equally wrong dL/dz1 turned a wrong dL/dw1 into full credit."""
    without_tanh_prime = KEY["dL/dz3"] * 1.0 * 1.0  # dL/dz3 * w5 * x1, tanh'(z1) left out
    answers = {n: round(KEY[n], 4) for n in ["z1", "h1", "z3", "p", "dL/dz3"]}
    answers["dL/dw1"] = round(without_tanh_prime, 4)
    answers["dL/dz1"] = round(without_tanh_prime, 4)  # not asked
    got = graded(answers)
    assert got["dL/dw1"].verdict is Verdict.INCORRECT
    assert got["dL/dz1"].shown and got["dL/dz1"].points == 0


# --- SPEC 6.1.5: degenerate carried values


@pytest.mark.parametrize("written", [0, 1])
def test_follow_through_resting_on_zero_or_one_is_flagged(written: int) -> None:
    answers: dict[str, Any] = {n: round(KEY[n], 4) for n in ["z1", "z2", "h1", "h2", "z3", "p", "L"]}
    answers["dL/dz3"] = written
    carried_forward(DEFAULT_Q1, answers, DOWNSTREAM, 4)
    got = graded(answers)
    assert got["dL/dw1"].verdict is Verdict.FOLLOW_THROUGH
    assert got["dL/dw1"].flag == "degenerate" and got["dL/dw1"].to_dict()["flag"] == "degenerate"


def test_follow_through_resting_on_a_copied_value_is_flagged() -> None:
    answers: dict[str, Any] = {n: round(KEY[n], 4) for n in ["z1", "z2", "h1", "h2", "z3", "p", "L"]}
    answers["dL/dz3"] = answers["p"]  # the output copied where its gradient belongs
    carried_forward(DEFAULT_Q1, answers, DOWNSTREAM, 4)
    got = graded(answers)
    assert got["dL/dw1"].verdict is Verdict.FOLLOW_THROUGH and got["dL/dw1"].flag == "degenerate"


def test_an_ordinary_follow_through_is_not_flagged() -> None:
    got = graded(slipped_in_dz3())
    assert got["dL/dw1"].flag is None and "flag" not in got["dL/dw1"].to_dict()


def test_a_yaml_float_zero_for_a_key_that_rounds_to_zero_is_correct() -> None:
    small = {**DEFAULT_Q1, "given": {"x1": 1e-4, "x2": 0.0, "y": 1.0}}
    key = key_of(small)
    assert abs(key["dL/dw1"]) < 5e-5
    got = graded({"dL/dw1": 0.0}, given=small["given"], ask=["dL/dw1"])  # 0.0000 in the YAML file
    assert got["dL/dw1"].verdict is Verdict.CORRECT
