"""Grade the answers to one network problem, with follow-through credit and named mistakes."""

from __future__ import annotations

from typing import Any

from grader.grading.follow_through import depends_on
from grader.grading.numeric import (
    NumberError,
    as_submitted,
    hidden_comparison,
    is_close,
    near_miss,
    read_number,
    relative_error,
)
from grader.grading.result import PartResult, Verdict
from grader.grading.search import MistakeSearch
from grader.grading.steps import TOO_FEW_DIGITS, last_digit_unit, step_close, too_few_digits
from grader.problemset.model import NetworkProblem, Quantity, Tolerance
from grader.problemset.network import normalize_quantity
from grader.solver.world import Overrides, World, solve, variant_leaves


def canonical_world(problem: NetworkProblem, set_id: str, student: str | None) -> World:
    """The answer key's world for this student's variant (cached when the problem is not randomised)."""
    if not problem.randomised:
        cached: World | None = problem.cache.get("key")
        if cached is None:
            cached = problem.cache["key"] = solve(problem, {})
        return cached
    return solve(problem, variant_leaves(problem, set_id, student))


def grade_network(problem: NetworkProblem, submitted: Any, set_id: str, student: str,
                  warnings: list[str]) -> list[PartResult]:
    leaves = variant_leaves(problem, set_id, student)
    key = canonical_world(problem, set_id, student)
    if submitted is not None and not isinstance(submitted, dict):
        reason = (f"the answers to {problem.id} must map quantities to numbers "
                  f"(e.g. z1: 1.2), not {type(submitted).__name__}")
        return [PartResult(q.name, None, key.value(q), Verdict.INVALID, 0.0, problem.points[q.name],
                           feedback=reason) for q in problem.ask]
    raw: dict[str, Any] = {}
    for name, value in (submitted or {}).items():
        canonical = normalize_quantity(str(name))
        if canonical not in problem.quantities:
            warnings.append(f"{problem.id}: {name!r} is not a quantity of this problem; it was ignored")
            continue
        raw[canonical] = value
    numbers: dict[str, float] = {}
    unreadable: dict[str, str] = {}
    for name, value in raw.items():
        if value is None:
            continue
        try:
            numbers[name] = read_number(value)
        except NumberError as exc:
            unreadable[name] = str(exc)
    # Values the problem does not ask for are shown work: reported, but the student's own world (what
    # follow-through is judged in) is made of asked answers only, so unasked working never buys credit.
    asked = {q.name for q in problem.ask}
    answered = {n: x for n, x in numbers.items() if n in asked}
    resolved = Overrides.of(problem, answered)
    mine = solve(problem, leaves, resolved) if answered else key
    search = MistakeSearch(problem, leaves, resolved, mine, key)
    off = {n for n, x in answered.items()
           if not _matches(problem, problem.quantities[n], x, key, key, raw.get(n), problem.tolerance_for(n))}
    parts = [_judge(problem, q, raw, answered, unreadable, key, mine, search, off) for q in problem.ask]
    for name in raw:
        if name not in asked:
            parts.append(_shown_work(problem, problem.quantities[name], raw[name], numbers, unreadable, key))
    return parts


def _shown_work(problem: NetworkProblem, q: Quantity, raw: Any, numbers: dict[str, float],
                unreadable: dict[str, str], key: World) -> PartResult:
    """An unasked value, judged against the key and reported with no points (SPEC 6.1.4)."""
    expected = key.value(q)
    if q.name in unreadable:
        return PartResult(q.name, as_submitted(raw), expected, Verdict.INVALID, 0.0, 0.0, shown=True,
                          feedback=f"Shown work (not asked, no points): could not read it: {unreadable[q.name]}.")
    if q.name not in numbers:
        return PartResult(q.name, None, expected, Verdict.MISSING, 0.0, 0.0, shown=True,
                          feedback="Shown work (not asked, no points): empty.")
    value = numbers[q.name]
    shown = raw if isinstance(raw, int | float) and not isinstance(raw, bool) else value
    if _matches(problem, q, value, key, key, raw, problem.tolerance_for(q.name)):
        return PartResult(q.name, shown, expected, Verdict.CORRECT, 0.0, 0.0, shown=True,
                          feedback="Shown work (not asked, no points): correct.")
    said = "Shown work (not asked, no points): not correct; answers that used it are judged without it."
    return PartResult(q.name, shown, expected, Verdict.INCORRECT, 0.0, 0.0, shown=True, feedback=said,
                      feedback_hidden=said)


def _start(problem: NetworkProblem, q: Quantity, world: World) -> float | None:
    """For ``next.w`` of a parameter ``w``: ``w`` in ``world``, the value the step starts from; else None."""
    if q.kind != "next" or q.target not in problem.params:
        return None
    return world.values[world.tape.slot_of[q.target]]


def _matches(problem: NetworkProblem, q: Quantity, value: float, target_world: World, start_world: World,
             raw: Any, tol: Tolerance) -> bool:
    """Whether ``value`` matches ``q`` in ``target_world``: an updated parameter on its step (SPEC 6.1.3)."""
    target = target_world.value(q)
    start = _start(problem, q, start_world)
    if start is None:
        return is_close(value, target, tol)
    return step_close(value, target, start, tol, last_digit_unit(raw))


def _judge(problem: NetworkProblem, q: Quantity, raws: dict[str, Any], numbers: dict[str, float],
           unreadable: dict[str, str], key: World, mine: World, search: MistakeSearch,
           off: set[str]) -> PartResult:
    raw = raws.get(q.name)
    expected = key.value(q)
    points = problem.points[q.name]
    tol = problem.tolerance_for(q.name)
    if q.name in unreadable:
        return PartResult(q.name, as_submitted(raw), expected, Verdict.INVALID, 0.0, points,
                          feedback=f"Could not read this answer: {unreadable[q.name]}.")
    if q.name not in numbers:
        return PartResult(q.name, None, expected, Verdict.MISSING, 0.0, points, feedback="No answer given.")
    value = numbers[q.name]
    shown = raw if isinstance(raw, int | float) and not isinstance(raw, bool) else value
    start = _start(problem, q, key)
    few = start is not None and too_few_digits(expected, start, last_digit_unit(raw))
    if _matches(problem, q, value, key, key, raw, tol):
        return PartResult(q.name, shown, expected, Verdict.CORRECT, 1.0, points,
                          feedback="Correct. " + TOO_FEW_DIGITS if few else "Correct.")
    own = mine.value(q)
    slips = _earlier_slips(problem, q, off)
    follows = _matches(problem, q, value, mine, mine, raw, tol)
    if not slips and follows:
        # every earlier answer it used was accepted, and it follows from them exactly: rounding that a
        # steep step amplified past the tolerance is the student's right, not a slip
        return PartResult(q.name, shown, expected, Verdict.CORRECT, 1.0, points,
                          feedback="Correct given your own rounded earlier answers.")
    if slips and follows:
        credit = problem.follow_through_credit
        origins = [n for n in slips if not _matches(problem, problem.quantities[n], numbers[n], mine, mine,
                                                    raws.get(n), problem.tolerance_for(n))]
        return PartResult(q.name, shown, expected, Verdict.FOLLOW_THROUGH, credit, points,
                          feedback=_follow_through_feedback(slips, origins, numbers))
    named = search.find(q, value, tol, own, _start(problem, q, mine), last_digit_unit(raw))
    if named is not None:
        return PartResult(q.name, shown, expected, Verdict.INCORRECT, 0.0, points,
                          misconception=named.mistake.name, feedback=f"Not correct. {named.explanation}")
    against = own if slips else expected
    if start is not None:  # an update: said of its step
        origin = _start(problem, q, mine if slips else key)
        assert origin is not None
        step, right = value - origin, against - origin
        if few:
            return PartResult(q.name, shown, expected, Verdict.INCORRECT, 0.0, points,
                              feedback=_generic_feedback(value, against, tol) + " " + TOO_FEW_DIGITS,
                              feedback_hidden=hidden_comparison(value, against) + " " + TOO_FEW_DIGITS)
        if step == 0:
            said = (f"Not correct: {q.target} is unchanged; the update moves it by the step "
                    f"-learning_rate*dL/d{q.target}.")
            return PartResult(q.name, shown, expected, Verdict.INCORRECT, 0.0, points, feedback=said,
                              feedback_hidden=said)
        return PartResult(q.name, shown, expected, Verdict.INCORRECT, 0.0, points,
                          feedback="The step " + _generic_feedback(step, right, tol).replace("Not correct", "is not "
                                                                                          "correct", 1),
                          feedback_hidden="The step " + hidden_comparison(step, right).replace(
                              "Not correct", "is not correct", 1))
    return PartResult(q.name, shown, expected, Verdict.INCORRECT, 0.0, points,
                      feedback=_generic_feedback(value, against, tol),
                      feedback_hidden=hidden_comparison(value, against))


def _follow_through_feedback(slips: list[str], origins: list[str], numbers: dict[str, float]) -> str:
    """Name the nearest earlier answer this one used, and where the slip started if that was elsewhere."""
    nearest = f"{slips[0]} = {numbers[slips[0]]:g}"
    start = [n for n in origins if n != slips[0]]
    if start:
        where = ", ".join(f"{n} = {numbers[n]:g}" for n in start[-2:])
        return (f"Right given your earlier answer {nearest}, which carries forward your slip in {where}: "
                f"credit for carrying it forward.")
    return f"Right given your earlier answer {nearest}, which was off: credit for carrying it forward."


def _earlier_slips(problem: NetworkProblem, q: Quantity, off: set[str]) -> list[str]:
    """The student's submitted quantities that ``q`` depends on and that are off the key, nearest first."""
    out = [name for name in depends_on(problem, q.name) if name in off]
    # a quantity closer to q depends on more of the others
    out.sort(key=lambda n: len(depends_on(problem, n)), reverse=True)
    return out


def _generic_feedback(value: float, expected: float, tol: Tolerance) -> str:
    if near_miss(value, expected, tol):
        return (f"Close, but outside the tolerance ({tol.describe()}): keep more digits in "
                f"intermediate steps.")
    off = relative_error(value, expected)
    if off >= 100:
        return "Not correct: far from the expected value (a slip in the order of magnitude?)."
    return f"Not correct: off by {off:.0%}."
