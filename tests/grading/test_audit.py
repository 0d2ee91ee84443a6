"""The instructor is warned (SPEC 6.1.6): tolerances that accept a slip, keys that are undefined."""

from __future__ import annotations

import time
from typing import Any

from grader.grading.audit import audit
from tests.conftest import SPEC_Q1, load_set
from tests.problemset.test_limits import layered, text_of

DEFAULT_Q1 = {k: v for k, v in SPEC_Q1.items() if k != "tolerance"}
SMALL = {**DEFAULT_Q1, "given": {"x1": 0.001, "x2": -0.002, "y": 1.0}}  # gradients near 1e-4


def warnings(spec: dict[str, Any]) -> list[str]:
    return audit(load_set(spec))


def test_the_default_tolerance_warns_of_nothing_here() -> None:
    assert warnings({**DEFAULT_Q1, "ask": ["z1", "h1", "dL/dw1", "dL/dw5", "next.w1"]}) == []


def test_a_wide_absolute_tolerance_that_accepts_zero_and_the_wrong_sign_is_warned() -> None:
    found = warnings({**SMALL, "tolerance": {"atol": 0.001}, "ask": ["dL/dw1", "dL/dw2", "z1"]})
    assert any("accepts 0" in w and "dL/dw1" in w and "atol 0.001" in w for w in found), found
    assert any("wrong sign" in w and "dL/dw1" in w for w in found), found
    assert not any("z1 (" in w for w in found if "accepts 0" in w or "wrong sign" in w)  # z1 = 0.1: far from both


def test_decimal_places_that_accept_half_the_value_are_warned() -> None:
    found = warnings({**SMALL, "tolerance": {"decimals": 3}, "ask": ["dL/dw1"]})
    assert any("accepts 0" in w for w in found), found


def test_a_wide_relative_tolerance_that_accepts_a_named_mistake_is_warned() -> None:
    found = warnings({**DEFAULT_Q1, "tolerance": {"rtol": 0.2}, "ask": ["dL/dw1", "dL/dw5", "p"]})
    assert any("named mistake" in w for w in found), found


def test_no_step_and_the_step_reversed_are_warned_for_updates() -> None:
    found = warnings({**DEFAULT_Q1, "learning_rate": 0.01, "tolerance": {"rtol": 0.05}, "ask": ["next.w1"]})
    assert not any("accepts 0" in w or "wrong sign" in w for w in found)  # judged on its step: 5 % of the step
    found = warnings({**DEFAULT_Q1, "learning_rate": 0.01, "tolerance": {"atol": 0.01}, "ask": ["next.w1"]})
    assert any("accepts 0" in w and "next.w1" in w for w in found), found


def test_warnings_are_added_once_to_the_sets_warnings() -> None:
    ps = load_set({**SMALL, "tolerance": {"atol": 0.0005}, "ask": ["dL/dw1"]})
    first = audit(ps)
    audit(ps)
    assert first and all(ps.warnings.count(w) == 1 for w in first)


def test_undefined_keys_of_students_variants_are_warned() -> None:
    spec = {**DEFAULT_Q1, "forward": {**DEFAULT_Q1["forward"], "h1": "sqrt(z1)"},
            "params": {**DEFAULT_Q1["params"], "b1": {"uniform": [-3.0, 3.0]}}, "ask": ["h1", "dL/dw1"]}
    found = warnings(spec)
    assert any("undefined for some students" in w for w in found), found


def test_a_wide_network_is_audited_quickly() -> None:
    ps = load_set_text(text_of(layered([12, 7, 3], inputs=5)))
    start = time.process_time()
    audit(ps)
    assert time.process_time() - start < 20  # well under a second on a quiet machine


def load_set_text(text: str) -> Any:
    from grader.problemset.loader import load_problem_set

    return load_problem_set(text, "wide.yaml")
