"""Updated parameters judged on their step (SPEC 6.1.3): no update, uphill and no learning rate are never right."""

from __future__ import annotations

from typing import Any

import pytest

from grader.grading.result import Verdict
from grader.grading.steps import last_digit_unit
from tests.conftest import SPEC_Q1, SPEC_VALUES, grade_answers, load_set, parts

PARAMS: dict[str, float] = SPEC_Q1["params"]
SLOW = {**SPEC_Q1, "learning_rate": 0.01, "tolerance": {"rtol": 0.01, "atol": 1e-8},
        "ask": [*SPEC_Q1["ask"], *[f"next.{p}" for p in PARAMS if p not in ("w1", "w5")]]}


@pytest.mark.parametrize(("raw", "unit"), [
    (0.5012, 1e-4), ("0.5012", 1e-4), ("-1.2e-3", 1e-4), ("5.012E-1", 1e-4), (3, 1.0), ("12", 1.0),
    (1e-05, 1e-05), ("1/3", None), ("tanh(1.2)", None), (True, None), (".5", 0.1),
])
def test_the_unit_of_the_last_digit_written(raw: Any, unit: float | None) -> None:
    found = last_digit_unit(raw)
    assert found == pytest.approx(unit) if unit is not None else found is None


def _next(param: str, lr: float) -> float:
    return PARAMS[param] - lr * SPEC_VALUES[f"dL/d{param}"]


@pytest.mark.parametrize("param", list(PARAMS))
def test_no_update_uphill_and_no_learning_rate_are_never_right(param: str) -> None:
    ps = load_set(SLOW)
    g = SPEC_VALUES[f"dL/d{param}"]
    w = PARAMS[param]
    # written to 6 decimals: one unit in the last digit (1e-6) is far below every step here
    for slip, value in (("unchanged", w), ("uphill", w + 0.01 * g), ("no learning rate", w - g)):
        part = parts(grade_answers(ps, {"q1": {f"next.{param}": f"{value:.6f}"}}))[f"next.{param}"]
        assert part.verdict is Verdict.INCORRECT, (slip, part)
    unchanged = parts(grade_answers(ps, {"q1": {f"next.{param}": f"{w:.6f}"}}))[f"next.{param}"]
    assert f"{param} is unchanged" in unchanged.feedback and unchanged.misconception is None


@pytest.mark.parametrize("param", list(PARAMS))
@pytest.mark.parametrize("decimals", [4, 5, 6])
def test_the_updated_weight_rounded_is_right(param: str, decimals: int) -> None:
    ps = load_set(SLOW)
    value = round(_next(param, 0.01), decimals)
    part = parts(grade_answers(ps, {"q1": {f"next.{param}": value}}))[f"next.{param}"]
    assert part.verdict is Verdict.CORRECT, part


def test_too_few_digits_to_show_the_step_is_said() -> None:
    ps = load_set(SLOW)
    step = 0.01 * SPEC_VALUES["dL/dw1"]  # about -0.0012
    assert abs(step) < 0.01
    part = parts(grade_answers(ps, {"q1": {"next.w1": "0.50"}}))["next.w1"]
    assert part.verdict is Verdict.CORRECT and "Write more digits" in part.feedback
    shown = parts(grade_answers(ps, {"q1": {"next.w1": round(_next("w1", 0.01), 4)}}))["next.w1"]
    assert shown.feedback == "Correct."


def test_an_update_from_the_students_own_gradient_follows_through() -> None:
    ps = load_set(SLOW)
    wrong_g = 2 * SPEC_VALUES["dL/dw1"]
    answers = {"dL/dw1": round(wrong_g, 6), "next.w1": round(PARAMS["w1"] - 0.01 * wrong_g, 6)}
    result = parts(grade_answers(ps, {"q1": answers}))
    assert result["dL/dw1"].verdict is Verdict.INCORRECT
    assert result["next.w1"].verdict is Verdict.FOLLOW_THROUGH
    unchanged = parts(grade_answers(ps, {"q1": {"dL/dw1": round(wrong_g, 6), "next.w1": f"{PARAMS['w1']:.6f}"}}))
    assert unchanged["next.w1"].verdict is Verdict.INCORRECT  # carrying a slip does not excuse no step
