"""Feedback for hidden expected values: it tells the sign and power-of-two band, never the key.

The claim is indistinguishability: two keys with the same sign and band get the same hidden feedback for
every answer that is not within the tolerance of either (or of a named mistake's value). A student who
sweeps or bisects therefore learns the key's band and nothing finer, unless an answer lands on it.
"""

from __future__ import annotations

import math
import re

from hypothesis import assume, given
from hypothesis import strategies as st

from grader.grading.numeric import hidden_comparison, size_class
from grader.grading.result import Verdict
from tests.conftest import FAST, SPEC_Q1, grade_answers, load_set, parts
from tests.grading.test_network import KEY

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda x: abs(x) > 1e-9)
HIDDEN_WORDINGS = {"Not correct.", "Not correct: the sign is wrong.", "Not correct: too large in magnitude.",
                   "Not correct: too small in magnitude."}
# an updated parameter is told of its step (SPEC 6.1.3), in the same words
HIDDEN_WORDINGS |= {"The step " + w.replace("Not correct", "is not correct", 1) for w in set(HIDDEN_WORDINGS)}
HIDDEN_WORDINGS |= {f"Not correct: {w} is unchanged; the update moves it by the step -learning_rate*dL/d{w}."
                    for w in ("w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3")}


@FAST
@given(finite, st.floats(min_value=0.0, max_value=0.999), finite)
def test_keys_in_one_band_get_the_same_hidden_feedback(key: float, where: float, value: float) -> None:
    sign, band = size_class(key)
    other = sign * math.ldexp(0.5 + where / 2, band)  # another number of the same sign and band
    assert size_class(other) == (sign, band)
    assert hidden_comparison(value, key) == hidden_comparison(value, other)
    assert hidden_comparison(value, key) in HIDDEN_WORDINGS


@FAST
@given(finite, st.floats(min_value=2.0, max_value=1e3))
def test_a_slip_by_a_factor_of_two_or_more_is_told_its_direction(key: float, factor: float) -> None:
    assume(math.isfinite(key * factor))
    assert hidden_comparison(key * factor, key) == "Not correct: too large in magnitude."
    assert hidden_comparison(key / factor, key) == "Not correct: too small in magnitude."
    assert hidden_comparison(-key * factor, key) == "Not correct: the sign is wrong."
    assert hidden_comparison(0.0, key) == "Not correct: too small in magnitude."


def test_a_zero_key_says_only_not_correct() -> None:
    assert {hidden_comparison(v, 0.0) for v in (-3.0, -1e-3, 1e-3, 7.0)} == {"Not correct."}


def _sweep(name: str) -> list[float]:
    """Wrong values around the key: a sweep of factors, and a bisection closing in from both sides."""
    k = KEY[name]
    factors = [f / 8 for f in range(-40, 41) if f] + [1 + s * 2.0 ** -j for j in range(1, 7) for s in (1, -1)]
    return [k * f for f in factors]


def _numbers(key: float) -> list[str]:
    """How a key value could be written in a message: 3 or 4 significant figures, or 3 decimals."""
    shown = {f"{key:.3g}", f"{key:.4g}", f"{abs(key):.3g}", f"{abs(key):.4g}", f"{round(key, 3)}"}
    return [s for s in shown if len(s.lstrip("-")) >= 3]  # "1", "0.5" and the like are in any sentence


def _start(name: str) -> float:
    """What an answer is judged from: 0, or for an updated parameter ``next.w`` the weight (its step is judged)."""
    param = name.removeprefix("next.")
    return float(SPEC_Q1["params"][param]) if name.startswith("next.") and param in SPEC_Q1["params"] else 0.0


def test_no_sweep_of_wrong_answers_reveals_more_than_the_keys_band() -> None:
    ps = load_set(SPEC_Q1)
    told: dict[tuple[str, tuple[int, int], str | None], set[str]] = {}
    revealing = 0
    for name in SPEC_Q1["ask"]:
        for value in _sweep(name):
            part = parts(grade_answers(ps, {"q1": {name: value}}))[name]
            if part.verdict is Verdict.CORRECT:
                continue
            assert part.feedback_hidden is not None or part.misconception is not None, part
            hidden = part.hidden
            for shown in _numbers(KEY[name]):
                assert shown not in hidden, (name, value, hidden)
            if part.misconception is None:
                assert hidden in HIDDEN_WORDINGS
            told.setdefault((name, size_class(value - _start(name)), part.misconception), set()).add(hidden)
            revealing += bool(re.search(r"off by \d+%|far from", part.feedback))
    # answers of one sign and band (and the same named mistake, if any) are all told the same thing
    assert all(len(wordings) == 1 for wordings in told.values()), {k: v for k, v in told.items() if len(v) > 1}
    assert revealing > 100  # the instructor's wording does quantify: this sweep would have shown it


def test_bisection_inside_the_keys_band_is_told_nothing_about_the_side() -> None:
    ps = load_set(SPEC_Q1)
    for name in SPEC_Q1["ask"]:
        start = _start(name)
        k = KEY[name] - start  # an update's step, or the value itself
        low, high = math.ldexp(1.0, size_class(k)[1] - 1), math.ldexp(1.0, size_class(k)[1])  # the band of |k|
        tol = 0.0005 + 0.01 * abs(k)
        inside = [math.copysign(x, k) for x in (low, (low + abs(k)) / 2, (abs(k) + high) / 2, high * 0.999)
                  if abs(x - abs(k)) > 5 * tol]
        said = {parts(grade_answers(ps, {"q1": {name: start + v}}))[name].hidden for v in inside}
        plain = {"Not correct.", "The step is not correct."}
        assert said <= plain | {p for p in said if "matches" in p or "sign" in p}, (name, said)
