"""Reading submitted numbers, and the three comparison modes at their boundaries."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from grader.grading.numeric import TOO_LARGE, NumberError, as_submitted, is_close, near_miss, read_number
from grader.problemset.model import ATOL_DEFAULT, RTOL_DEFAULT, Tolerance, ToleranceMode
from tests.conftest import FAST, SPEC_Q1, grade_answers, load_set, parts

READABLE: list[tuple[Any, float]] = [
    (1, 1.0), (0.5, 0.5), (-3, -3.0), (1.5e-3, 0.0015),
    ("0.83", 0.83), ("  0.83 ", 0.83), ("-1.2e-3", -0.0012), ("1.5E2", 150.0), (".5", 0.5), ("+2", 2.0),
    ("1/3", 1 / 3), ("-2/8", -0.25), ("2*3", 6.0), ("(1 + 2)/4", 0.75),
    ("e^-1", math.exp(-1)), ("e^(-1)", math.exp(-1)), ("exp(-1)", math.exp(-1)), ("2e", 2 * math.e),
    ("pi/2", math.pi / 2), ("2^0.5", math.sqrt(2)), ("sqrt(2)/2", math.sqrt(2) / 2), ("2**3", 8.0),
    ("tanh(1.2)", math.tanh(1.2)), ("sigmoid(0)", 0.5), ("σ(0)", 0.5), ("ln(e)", 1.0), ("log(1)", 0.0),
    ("1 - tanh(0.3)^2", 1 - math.tanh(0.3) ** 2), ("max(1, 2)", 2.0), ("relu(-1)", 0.0), ("|-0.5|", 0.5),
    ("−0.5", -0.5), ("0.2·3", 0.6000000000000001),
]


@pytest.mark.parametrize(("raw", "value"), READABLE, ids=[repr(r) for r, _ in READABLE])
def test_read_number(raw: Any, value: float) -> None:
    assert read_number(raw) == pytest.approx(value, rel=1e-15, abs=0)


UNREADABLE: list[tuple[Any, str]] = [
    ("0,5", "decimal point"),
    ("1,234.5", "decimal point"),
    (True, "not a number"),
    (False, "not a number"),
    ("", "empty"),
    ("   ", "empty"),
    ("x", ""),
    ("w1 + 1", ""),
    ("0.5.5", ""),
    ("1/0", ""),
    ("log(0)", ""),
    ("sqrt(-1)", ""),
    ("(-8)^(1/3)", ""),
    ("1e400", ""),
    ("10^400", ""),
    ("inf", ""),
    ("nan", ""),
    (float("nan"), "finite"),
    (float("inf"), "finite"),
    ("1" * 201, "too long"),
    ("1/3 + " * 40 + "1", "too long"),
    ([1, 2], "list"),
    ({"a": 1}, "mapping"),
    (None, ""),
    ("__import__('os')", ""),
    ("0.5 ??", ""),
    ("diff(x, x)", ""),
]


@pytest.mark.parametrize(("raw", "fragment"), UNREADABLE, ids=[repr(r)[:30] for r, _ in UNREADABLE])
def test_read_number_refuses(raw: Any, fragment: str) -> None:
    with pytest.raises(NumberError) as info:
        read_number(raw)
    assert fragment in str(info.value)


@pytest.mark.parametrize(("raw", "says"), [
    (10**400, TOO_LARGE), (-(10**400), TOO_LARGE), (float("inf"), TOO_LARGE), (-float("inf"), TOO_LARGE),
    ("1e309", TOO_LARGE), ("-1e400", TOO_LARGE), ("1" + "0" * 30, None),
    ("exp(1000)", "cannot be evaluated: " + TOO_LARGE),
    ("1e308*10", TOO_LARGE), ("10^300*10^300", TOO_LARGE), (float("nan"), "the answer is not a finite number (nan)"),
])
def test_numbers_no_float_holds_are_refused_as_too_large(raw: Any, says: str | None) -> None:
    if says is None:
        assert read_number(raw) == 1e30
        return
    with pytest.raises(NumberError) as info:
        read_number(raw)
    assert str(info.value) == says
    assert "too large to compare" in says or "nan" in says


def test_results_show_such_numbers_as_typed() -> None:
    assert as_submitted(10**400) == "1" + "0" * 400
    assert as_submitted(float("inf")) == "inf" and as_submitted(float("nan")) == "nan"
    assert as_submitted(10**300) == 10**300 and as_submitted(-0.5) == -0.5 and as_submitted("1e999") == "1e999"
    assert as_submitted(True) is True


def test_read_number_never_evaluates_names() -> None:
    with pytest.raises(NumberError):
        read_number("e1")  # not 'e' times 1 nor 10: a name


def relabs(rtol: float, atol: float) -> Tolerance:
    return Tolerance(ToleranceMode.RELABS, rtol=rtol, atol=atol)


def sigfigs(n: int) -> Tolerance:
    return Tolerance(ToleranceMode.SIGFIGS, digits=n)


def decimals(n: int) -> Tolerance:
    return Tolerance(ToleranceMode.DECIMALS, digits=n)


# (submitted, expected, tolerance, close): binary fractions, so that the boundary is exact.
BOUNDARIES: list[tuple[float, float, Tolerance, bool]] = [
    (4.5, 4.0, relabs(0.125, 0.0), True),
    (4.5 + 2**-40, 4.0, relabs(0.125, 0.0), False),
    (3.5, 4.0, relabs(0.125, 0.0), True),
    (3.5 - 2**-40, 4.0, relabs(0.125, 0.0), False),
    (-4.5, -4.0, relabs(0.125, 0.0), True),
    (-4.5 - 2**-40, -4.0, relabs(0.125, 0.0), False),
    (4.75, 4.0, relabs(0.125, 0.25), True),
    (4.75 + 2**-40, 4.0, relabs(0.125, 0.25), False),
    (0.25, 0.0, relabs(0.125, 0.25), True),
    (0.25 + 2**-40, 0.0, relabs(0.125, 0.25), False),
    (-4.0, 4.0, relabs(0.5, 0.0), False),
    # the SPEC defaults: rtol 0.01, atol 1e-8
    (1.0099, 1.0, Tolerance(), True),
    (1.0101, 1.0, Tolerance(), False),
    (1e-8, 0.0, Tolerance(), True),
    (2e-8, 0.0, Tolerance(), False),
    # significant figures: 0.51 units in the last place
    (0.834, 0.833655, sigfigs(3), True),
    (0.8337, 0.833655, sigfigs(3), True),
    (0.833, 0.833655, sigfigs(3), False),
    (0.83, 0.833655, sigfigs(2), True),
    (0.84, 0.833655, sigfigs(2), False),
    (1230.0, 1234.5, sigfigs(3), True),
    (1240.0, 1234.5, sigfigs(3), False),
    (0.000123, 0.00012345, sigfigs(3), True),
    (0.000124, 0.00012345, sigfigs(3), False),
    (-0.119, -0.119003, sigfigs(3), True),
    (0.119, -0.119003, sigfigs(3), False),
    (10.0, 9.96, sigfigs(2), True),
    (0.0, 0.0, sigfigs(3), True),
    (0.0004, 0.0, sigfigs(3), True),
    (0.0006, 0.0, sigfigs(3), False),
    # decimal places: 0.51 units in the last place
    (1.23, 1.23456, decimals(2), True),
    (1.24, 1.23456, decimals(2), False),
    (1.2, 1.23456, decimals(1), True),
    (1.3, 1.23456, decimals(1), False),
    (-0.45, -0.45125, decimals(3), False),
    (-0.451, -0.45125, decimals(3), True),
    (1235.0, 1234.5, decimals(0), True),
    (1236.0, 1234.5, decimals(0), False),
]


@pytest.mark.parametrize(("submitted", "expected", "tol", "close"), BOUNDARIES)
def test_is_close_at_the_boundaries(submitted: float, expected: float, tol: Tolerance, close: bool) -> None:
    assert is_close(submitted, expected, tol) is close


@pytest.mark.parametrize("tol", [Tolerance(), sigfigs(3), decimals(2)])
@pytest.mark.parametrize("expected", [math.nan, math.inf, -math.inf])
def test_nothing_is_close_to_a_non_finite_key(tol: Tolerance, expected: float) -> None:
    assert not is_close(expected, expected, tol)
    assert not is_close(0.0, expected, tol)


def test_the_defaults_are_the_specs() -> None:
    assert (RTOL_DEFAULT, ATOL_DEFAULT) == (0.01, 1e-8)
    assert Tolerance() == relabs(0.01, 1e-8)


def rounded(x: float, places: int) -> float:
    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))


magnitudes = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False) | st.floats(
    min_value=-1e6, max_value=-1e-6, allow_nan=False)


@FAST
@given(expected=magnitudes, digits=st.integers(1, 8))
def test_a_correctly_rounded_answer_is_accepted_in_sigfigs_mode(expected: float, digits: int) -> None:
    places = digits - 1 - math.floor(math.log10(abs(expected)))
    answer = rounded(expected, places)
    assume(answer != 0 and math.floor(math.log10(abs(answer))) == math.floor(math.log10(abs(expected))))
    assert is_close(answer, expected, sigfigs(digits))
    unit = 10.0 ** -places
    assert not is_close(answer + 2 * unit, expected, sigfigs(digits))
    assert not is_close(answer - 2 * unit, expected, sigfigs(digits))


@FAST
@given(expected=st.floats(min_value=-1e4, max_value=1e4, allow_nan=False), places=st.integers(0, 6))
def test_a_correctly_rounded_answer_is_accepted_in_decimals_mode(expected: float, places: int) -> None:
    answer = rounded(expected, places)
    assert is_close(answer, expected, decimals(places))
    assert not is_close(answer + 2 * 10.0**-places, expected, decimals(places))


def test_near_miss_is_within_five_tolerances() -> None:
    assert near_miss(1.04, 1.0, Tolerance())
    assert not near_miss(1.06, 1.0, Tolerance())
    assert near_miss(0.83, 0.833655, sigfigs(3))


# -- tolerances per set, problem and quantity, through grading ------------------------------------

def graded(set_tolerance: dict[str, Any] | None, problem_tolerance: dict[str, Any] | None,
           quantity_tolerances: dict[str, Any] | None, answers: dict[str, float]) -> dict[str, str]:
    problem: dict[str, Any] = {k: v for k, v in SPEC_Q1.items() if k != "tolerance"}
    if problem_tolerance is not None:
        problem["tolerance"] = problem_tolerance
    if quantity_tolerances is not None:
        problem["tolerances"] = quantity_tolerances
    fields = {} if set_tolerance is None else {"tolerance": set_tolerance}
    ps = load_set(problem, **fields)
    return {q: p.verdict.value for q, p in parts(grade_answers(ps, {"q1": answers})).items() if q in answers}


def test_the_default_tolerance_applies_without_settings() -> None:
    assert graded(None, None, None, {"z1": 1.211, "z2": 0.3031}) == {"z1": "correct", "z2": "incorrect"}


def test_the_set_tolerance_applies_to_every_problem() -> None:
    assert graded({"rtol": 0.05}, None, None, {"z1": 1.25, "z2": 0.32}) == {"z1": "correct", "z2": "incorrect"}


def test_a_problem_tolerance_overrides_the_sets() -> None:
    assert graded({"rtol": 0.05}, {"decimals": 1}, None, {"z1": 1.25, "z2": 0.32}) == {
        "z1": "correct", "z2": "correct"}
    assert graded({"rtol": 0.05}, {"decimals": 2}, None, {"z1": 1.25, "z2": 0.32}) == {
        "z1": "incorrect", "z2": "incorrect"}


def test_a_quantity_tolerance_overrides_the_problems() -> None:
    answers = {"h1": 0.8337, "h2": 0.2913}
    assert graded(None, {"sigfigs": 4}, None, answers) == {"h1": "correct", "h2": "correct"}
    assert graded(None, {"sigfigs": 4}, {"h1": {"sigfigs": 6}}, answers) == {"h1": "incorrect", "h2": "correct"}


def test_a_relative_tolerance_keeps_the_atol_it_inherits() -> None:
    # z2 = 0.3: with atol 0.1 inherited from the set, 0.39 is within 0.1 + 0.001*0.3
    assert graded({"rtol": 0.5, "atol": 0.1}, {"rtol": 0.001}, None, {"z2": 0.39}) == {"z2": "correct"}
    assert graded({"rtol": 0.5, "atol": 0.1}, {"rtol": 0.001}, None, {"z2": 0.41}) == {"z2": "incorrect"}
