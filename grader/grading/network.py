"""Grade the answers to one network problem, with follow-through credit and named mistakes."""

from __future__ import annotations

import math
from typing import Any

from grader.grading.follow_through import depends_on
from grader.grading.matrices import Spread, settle, spread
from grader.grading.numeric import (
    NumberError,
    as_submitted,
    hidden_comparison,
    is_close,
    near_miss,
    read_number,
    relative_error,
    within,
)
from grader.grading.result import PartResult, Verdict
from grader.grading.rounding import Habit, allowance, is_slip, magnitude, protected_unit, read_digits, width
from grader.grading.search import MistakeSearch, mistaken_values
from grader.grading.steps import ROUNDING_SLACK, TOO_FEW_DIGITS, last_digit_unit, too_few_digits
from grader.problemset.model import NetworkProblem, Quantity, Tolerance, ToleranceMode
from grader.problemset.network import matrix_entries, normalize_quantity
from grader.solver.carry import Carried, carry
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
    spreads: list[Spread] = []
    for name, value in (submitted or {}).items():
        canonical = normalize_quantity(str(name))
        grid = matrix_entries(problem, canonical) if problem.matrices else None
        if grid is not None:  # a matrix or vector: its entries are graded one by one
            found = spread(canonical, grid, value)
            spreads.append(found)
            raw.update(found.entries)
            continue
        if canonical not in problem.quantities:
            warnings.append(f"{problem.id}: {name!r} is not a quantity of this problem; it was ignored")
            continue
        q = problem.quantities[canonical]
        if q.kind == "grad" and q.step and q.step == problem.steps and not problem.gradients_after_last:
            warnings.append(f"{problem.id}: {name!r} is a gradient after the last update, which the problem does "
                            "not ask about; it was ignored")
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
    judge = _Judge(problem, leaves, key, raw, answered)
    verdicts = judge.run()
    parts = []
    for q in problem.ask:
        if q.name in unreadable:
            parts.append(PartResult(q.name, as_submitted(raw.get(q.name)), key.value(q), Verdict.INVALID, 0.0,
                                    problem.points[q.name],
                                    feedback=f"Could not read this answer: {unreadable[q.name]}."))
        elif q.name not in answered:
            parts.append(PartResult(q.name, None, key.value(q), Verdict.MISSING, 0.0, problem.points[q.name],
                                    feedback="No answer given."))
        else:
            parts.append(verdicts[q.name])
    for name in raw:
        if name not in asked:
            parts.append(_shown_work(problem, problem.quantities[name], raw[name], numbers, unreadable, key, judge))
    if spreads:
        by_name = {p.quantity: p for p in parts}
        for s in spreads:  # entries a wrong shape left unanswered are reported too
            for entry in (e for row in s.grid for e in row):
                if entry not in by_name:
                    q = problem.quantities[entry]
                    by_name[entry] = PartResult(entry, None, key.value(q), Verdict.MISSING, 0.0, 0.0, shown=True)
                    parts.append(by_name[entry])
        settle(by_name, spreads, lambda entry, value: _entry_right(problem, judge, key, entry, value))
    return parts


def _entry_right(problem: NetworkProblem, judge: _Judge, key: World, entry: str, value: Any) -> bool:
    """Whether ``value`` is right for one entry of a matrix, against the key."""
    q = problem.quantities[entry]
    try:
        number = read_number(value)
    except NumberError:
        return False
    return judge.right(q, number, value, key.value(q), start_of(problem, q, key), 0.0)


def _shown_work(problem: NetworkProblem, q: Quantity, raw: Any, numbers: dict[str, float],
                unreadable: dict[str, str], key: World, judge: _Judge) -> PartResult:
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
    if judge.right(q, value, raw, expected, start_of(problem, q, key), 0.0):
        return PartResult(q.name, shown, expected, Verdict.CORRECT, 0.0, 0.0, shown=True,
                          feedback="Shown work (not asked, no points): correct.")
    said = "Shown work (not asked, no points): not correct; answers that used it are judged without it."
    return PartResult(q.name, shown, expected, Verdict.INCORRECT, 0.0, 0.0, shown=True, feedback=said,
                      feedback_hidden=said)


def start_of(problem: NetworkProblem, q: Quantity, world: World) -> float | None:
    """For a parameter ``w`` after update K: ``w`` before it in ``world``, where the step starts; else None."""
    if q.kind != "next" or q.target not in problem.params:
        return None
    slot = world.tape.slot_of[q.target]
    if q.step <= 1:
        return world.values[slot]
    return world.after[q.step - 2].values[slot]


def _mistake_gap(problem: NetworkProblem, q: Quantity) -> float:
    """How near (relative to the key) the nearest catalogued mistake's value lies to ``q``'s key.

    Taken from the reference variant's key, once per quantity: an answer much nearer the key than any
    mistake's value cannot be one, and needs no search.
    """
    gaps: dict[str, float] = problem.cache.setdefault("mistake_gaps", {})
    found = gaps.get(q.name)
    if found is None:
        reference = problem.cache.get("reference_key")
        if reference is None:
            leaves = variant_leaves(problem, "check", "reference")
            key = solve(problem, leaves)
            search = MistakeSearch(problem, leaves, Overrides(), key, key, max_steps=10**9)
            reference = problem.cache["reference_key"] = (leaves, key, search)
        leaves, key, search = reference
        right = key.value(q)
        values = mistaken_values(problem, leaves, key, [q], search)[q.name]
        usable = right != 0 and math.isfinite(right)
        found = gaps[q.name] = min((abs(n.value - right) / abs(right) for n in values if usable), default=math.inf)
    return found


def _zero_unit(tol: Tolerance, reference: float) -> float:
    """The last digit a 0 read as a float stands for: the tolerance's own rounding, or else the protected one."""
    if tol.mode is ToleranceMode.DECIMALS:
        return 10.0**-tol.digits
    if tol.mode is ToleranceMode.SIGFIGS:
        return 10.0 ** (magnitude(reference) - tol.digits + 1)
    return protected_unit(reference)


class _Judge:
    """Judges one submission's asked answers, each after every answer it rests on (SPEC 5 and 6.1).

    An answer is *accepted* when it is right against the key, or right in the student's own world
    while everything it rests on was accepted (rounding carried forward is the student's right).
    Right means: within the tolerance, widened by the digits written (``rounding.allowance``) and, in
    the student's world, by how far their carried rounding can move the value (``carry``); and never a
    slip (``rounding.is_slip``, or a named mistake's value). An answer right in the student's world
    that rests on an answer not accepted is ``follow_through``.
    """

    def __init__(self, problem: NetworkProblem, leaves: dict[int, float], key: World, raw: dict[str, Any],
                 answered: dict[str, float]) -> None:
        self.problem, self.key, self.raw, self.answered = problem, key, raw, answered
        self.order = sorted(answered, key=lambda n: len(depends_on(problem, n)))  # each after what it rests on
        resolved = Overrides.of(problem, answered)
        self.mine = solve(problem, leaves, resolved) if answered else key
        self.search = MistakeSearch(problem, leaves, resolved, self.mine, key)
        self.bits = {name: k for k, name in enumerate(self.order)}
        digits = {name: read_digits(raw[name]) for name in self.order}
        self.units = {name: d.unit for name, d in digits.items()}
        self.digits = digits
        self._carried: Carried | None = None
        self.accepted: set[str] = set()
        self.results: dict[str, PartResult] = {}
        self._slips: dict[str, list[str]] = {}
        self._frontier: dict[str, list[str]] = {}
        self._roots: dict[str, list[str]] = {}
        self._copies: dict[float, list[str]] | None = None

    @property
    def carried(self) -> Carried:
        """Bounds and footings in the student's world, computed once the first answer is off the key."""
        if self._carried is None:
            habit = Habit.of(self.digits.values())
            written = {n: d.radius for n, d in self.digits.items()}
            self._carried = carry(self.problem, self.mine, written, habit.radius, set(self.order))
        return self._carried

    def run(self) -> dict[str, PartResult]:
        for name in self.order:
            self.results[name] = self.judge(self.problem.quantities[name])
        return self.results

    def right(self, q: Quantity, value: float, raw: Any, reference: float, start: float | None,
              bound: float) -> bool:
        """Whether ``value`` is right against ``reference``, which carried rounding may move by ``bound``."""
        if not math.isfinite(reference):
            return False
        tol = self.problem.tolerance_for(q.name)
        unit = self.units[q.name] if q.name in self.units else last_digit_unit(raw)
        if value == 0 and isinstance(raw, float) and unit is not None:
            unit = min(unit, _zero_unit(tol, reference))  # 0.0000 read as a float keeps no digits: as if written so
        diff = abs(value - reference)
        if start is None:
            if not within(diff, width(tol, reference) + allowance(tol, unit, reference) + bound, value, reference):
                return False
            slip = is_slip(value, reference, unit, bound)
        else:  # an update, judged on its step (SPEC 6.1.3)
            step = reference - start
            few = too_few_digits(reference, start, unit)
            if unit is not None and diff <= 0.5 * unit * ROUNDING_SLACK:
                ok = True  # the target rounded to the digits written
            elif few:
                ok = within(diff, width(tol, reference) + bound, value, reference)  # judged on the value
            else:
                ok = within(diff, width(tol, step) + allowance(tol, unit, step) + bound, step)
            if not ok:
                return False
            slip = not few and is_slip(value - start, step, unit, bound)
        if slip:
            return False
        if diff <= (unit or 0.0) * ROUNDING_SLACK + bound:
            return True  # within the digits written: nothing else to tell apart
        # far enough from the reference to be something else: not if it is a named mistake's value
        gap = _mistake_gap(self.problem, q)
        if gap * abs(reference) > 4 * diff:
            return True  # no catalogued mistake comes near this quantity's value
        exact = Tolerance(ToleranceMode.RELABS, 0.0, 0.5 * (unit or 0.0) * ROUNDING_SLACK + 1e-12 * abs(value))
        return self.search.find(q, value, exact, reference, start, unit) is None

    def judge(self, q: Quantity) -> PartResult:
        problem, key, raw = self.problem, self.key, self.raw.get(q.name)
        value = self.answered[q.name]
        expected = key.value(q)
        points = problem.points[q.name]
        tol = problem.tolerance_for(q.name)
        shown = raw if isinstance(raw, int | float) and not isinstance(raw, bool) else value
        start = start_of(problem, q, key)
        unit = self.units[q.name]
        few = start is not None and too_few_digits(expected, start, unit)

        def part(verdict: Verdict, credit: float, feedback: str, hidden: str | None = None,
                 misconception: str | None = None, flag: str | None = None) -> PartResult:
            return PartResult(q.name, shown, expected, verdict, credit, points, misconception=misconception,
                              feedback=feedback, feedback_hidden=hidden, flag=flag)

        if self.right(q, value, raw, expected, start, 0.0):
            self.accepted.add(q.name)
            return part(Verdict.CORRECT, 1.0, "Correct. " + TOO_FEW_DIGITS if few else "Correct.")
        own = self.mine.value(q)
        bound = self.carried.bound.get(q.name, 0.0)
        slips = self.slips(q)
        if self.right(q, value, raw, own, start_of(problem, q, self.mine), bound):
            if not slips:
                # everything it rests on was accepted, and it follows from those values as written: rounding
                # that the later steps amplified is the student's right, not a slip
                self.accepted.add(q.name)
                return part(Verdict.CORRECT, 1.0, "Correct given your own rounded earlier answers.")
            said = self.follow_through_feedback(q, slips)
            return part(Verdict.FOLLOW_THROUGH, problem.follow_through_credit, said,
                        flag="degenerate" if self.degenerate(q) else None)
        named = self.search.find(q, value, tol, own, start_of(problem, q, self.mine), unit)
        if named is not None:
            return part(Verdict.INCORRECT, 0.0, f"Not correct. {named.explanation}", misconception=named.mistake.name)
        against = own if slips else expected
        given_yours = self.own_world_note(q, slips, own) if slips else ""
        if start is not None:  # an update: said of its step
            origin = start_of(problem, q, self.mine if slips else key)
            assert origin is not None
            step, right = value - origin, against - origin
            if few:
                return part(Verdict.INCORRECT, 0.0, _generic_feedback(value, against, tol) + " " + TOO_FEW_DIGITS,
                            hidden_comparison(value, against) + " " + TOO_FEW_DIGITS)
            if step == 0:
                said = (f"Not correct: {q.target} is unchanged; the update moves it by the step "
                        f"-learning_rate*dL/d{q.target}.")
                return part(Verdict.INCORRECT, 0.0, said, said)
            return part(Verdict.INCORRECT, 0.0,
                        "The step " + _generic_feedback(step, right, tol).replace("Not correct", "is not correct", 1)
                        + given_yours,
                        "The step " + hidden_comparison(step, right).replace("Not correct", "is not correct", 1))
        return part(Verdict.INCORRECT, 0.0, _generic_feedback(value, against, tol) + given_yours,
                    hidden_comparison(value, against))

    def rests_on(self, q: Quantity) -> list[str]:
        """The answers ``q``'s value depends on in the student's own world, in judging order."""
        mask = self.carried.footing.get(q.name, 0) & ~(1 << self.bits[q.name])
        out = []
        while mask:
            low = mask & -mask
            out.append(self.order[low.bit_length() - 1])
            mask ^= low
        return out

    def slips(self, q: Quantity) -> list[str]:
        """The answers ``q`` rests on that were not accepted, nearest first.

        Everything ``q`` rests on is judged before ``q``, so the list is final once ``q`` is judged.
        """
        found = self._slips.get(q.name)
        if found is None:
            found = self._slips[q.name] = [n for n in reversed(self.rests_on(q)) if n not in self.accepted]
        return found

    def roots(self, name: str) -> list[str]:
        """Where a slip that ``name`` carries started: itself when it is wrong on its own."""
        known = self._roots.get(name)
        if known is not None:
            return known
        found = self.results.get(name)
        if found is None or found.verdict is not Verdict.FOLLOW_THROUGH:
            return [name]
        out: list[str] = []
        for n in self.frontier(self.problem.quantities[name]):
            for r in self.roots(n):
                if r not in out:
                    out.append(r)
        self._roots[name] = out
        return out

    def frontier(self, q: Quantity) -> list[str]:
        """The nearest slips ``q`` rests on: those no other slip of ``q`` rests on."""
        found = self._frontier.get(q.name)
        if found is None:
            slips = self.slips(q)
            under: set[str] = set()
            for n in slips:
                under.update(self.slips(self.problem.quantities[n]))
            found = self._frontier[q.name] = [n for n in slips if n not in under]
        return found

    def follow_through_feedback(self, q: Quantity, slips: list[str]) -> str:
        """Name the nearest earlier answers this one used, and where their slip started if elsewhere."""
        nearest = self.frontier(q) or slips[:1]
        many = len(nearest) > 1
        said = ", ".join(f"{n} = {self.answered[n]:g}" for n in nearest[:3])
        origins: list[str] = []
        for n in nearest:
            for r in self.roots(n):
                if r not in nearest and r not in origins:
                    origins.append(r)
        answers = "answers" if many else "answer"
        if origins:
            where = ", ".join(f"{n} = {self.answered[n]:g}" for n in origins[:3])
            carries = "carry" if many else "carries"
            return (f"Right given your earlier {answers} {said}, which {carries} forward your slip in {where}: "
                    f"credit for carrying it forward.")
        was = "were" if many else "was"
        return f"Right given your earlier {answers} {said}, which {was} off: credit for carrying it forward."

    def own_world_note(self, q: Quantity, slips: list[str], own: float) -> str:
        """What a TA writes beside a wrong answer after a slip: the value right given the student's own."""
        if not math.isfinite(own):
            return ""
        nearest = self.frontier(q) or slips[:1]
        given = ", ".join(f"{n} = {self.answered[n]:g}" for n in nearest[:3])
        return f" Given your {given}, the right value would be {own:.4g}."

    def degenerate(self, q: Quantity) -> bool:
        """Whether a follow-through rests on an answer of 0, 1 or a copy where the key has none (SPEC 6.1.5)."""
        key = self.key
        resting = list(self.slips(q))
        for n in list(resting):  # and what those carry from further back
            resting += [r for r in self.roots(n) if r not in resting]
        for n in resting:
            value, right = self.answered[n], key.value(self.problem.quantities[n])
            tol = self.problem.tolerance_for(n)
            if value == 0 and not is_close(0.0, right, tol):
                return True
            if value == 1 and not is_close(1.0, right, tol):
                return True
            if value != 0:
                for other in self.copies().get(value, ()):
                    if other != n and not is_close(right, key.value(self.problem.quantities[other]), tol):
                        return True
        return False

    def copies(self) -> dict[float, list[str]]:
        """The answers by value, to find an answer copied from another."""
        if self._copies is None:
            self._copies = {}
            for name, x in self.answered.items():
                self._copies.setdefault(x, []).append(name)
        return self._copies


def _generic_feedback(value: float, expected: float, tol: Tolerance) -> str:
    if near_miss(value, expected, tol):
        return (f"Close, but outside the tolerance ({tol.describe()}): keep more digits in "
                f"intermediate steps.")
    off = relative_error(value, expected)
    if off >= 100:
        return "Not correct: far from the expected value (a slip in the order of magnitude?)."
    return f"Not correct: off by {off:.0%}."
