"""Decide whether a student's formula equals the key as a function on the problem's domain.

1. Probe: evaluate both in floats at many points (``probe.points``).
2. Confirm: every point where they seem to differ, or where one overflowed, is evaluated again in
   mpmath at 30 digits (60 if the difference is tiny), so rounding never makes a right answer wrong
   and a wrong one is only called wrong at a point where high precision agrees.
3. Kinks: a point where a non-smooth step sat exactly on its kink is left out of the decision when
   the problem says ``at_kinks: ignore`` (the default); with ``pytorch`` it counts like any other.
4. Exact: when the probes agree and both formulas are rational in ``exp``, ``exact.exact_compare``
   proves it (or finds the rounded constant that floats could not see).

Every step checks the ``Budget`` between points, and every evaluation tests the same deadline when
it starts and at every sum term (``Budget.active``); running out gives ``undecided``, never a verdict.
"""

from __future__ import annotations

import enum
import random
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from grader.expr.nodes import Expr, free_symbols
from grader.symbolic.exact import ExactCache, exact_compare
from grader.symbolic.numeric import ARITHMETIC, FLOAT, Compiled, Program, State, WorkLimit, mp_backend
from grader.symbolic.probe import Point, constants, points
from grader.symbolic.space import Budget, Space, TimeUp, past

RTOL = 1e-9  # float agreement
MP_LADDER = (30, 60, 120, 240)
MAX_CLIMBS = 6  # suspect points per check that may go past 60 digits (far-out points: costly, rarely needed)
MIN_AGREEING = 6  # points where both are defined, away from kinks, needed to call two formulas equal
MAX_CONFIRMATIONS = 24  # suspect points settled in high precision per check, moderate ones first
ENOUGH_CONFIRMED = 4  # confirmed differences after which the rest are judged in floats (for feedback only)


class Status(enum.Enum):
    AGREE = "agree"
    DIFFER = "differ"  # confirmed in high precision
    DIFFER_FLOAT = "differ_float"  # not yet confirmed (enough is known already)
    STUDENT_UNDEFINED = "student_undefined"  # the key has a value here, the answer none
    KINK = "kink"  # on a kink, left out under at_kinks: ignore
    SKIP = "skip"  # the key has no value here, or both overflowed


@dataclass
class Sample:
    point: Point
    key: Any = None  # float or mpf; None where undefined
    student: Any = None
    kink: bool = False
    key_region: tuple[tuple[int, int], ...] = ()
    student_region: tuple[tuple[int, int], ...] = ()
    status: Status = Status.SKIP
    precise: bool = False  # values are mpmath ones


@dataclass(frozen=True, slots=True)
class Probed:
    """A probe point with the key's float value there (None where undefined) and its defines' values."""

    point: Point
    env: dict[str, Any] | None  # None: a define has no value here
    key: Any
    kink: bool
    region: tuple[tuple[int, int], ...]


@dataclass
class Judgement:
    verdict: str  # equal, different, undecided
    samples: list[Sample] = field(default_factory=list)
    reason: str = ""
    exact: bool | None = None  # the exact method's answer, None if it did not apply
    student_compiled: Compiled | None = None


class Checker:
    """The key of one problem, compiled once; ``judge`` compares any number of answers against it."""

    def __init__(self, space: Space, key: Expr, at_kinks: str = "ignore", seed: str = "") -> None:
        self.space = space
        self.key = key
        self.at_kinks = at_kinks
        self.seed = zlib.crc32(seed.encode())
        self.float = Program(space, FLOAT)
        self.key_float = self.float.compile(key)
        self._mp: dict[int, tuple[Program, Compiled]] = {}
        self.exact_cache: ExactCache = {}
        self._points: dict[tuple[tuple[str, ...], frozenset[float]], list[Probed]] = {}
        self.key_constants = constants(key, *space.defines.values(),
                                       *(body for _, body in space.family_defines.values()))

    def mp(self, dps: int) -> tuple[Program, Compiled]:
        if dps not in self._mp:
            program = Program(self.space, mp_backend(dps))
            self._mp[dps] = (program, program.compile(self.key))
        return self._mp[dps]

    def indices_used(self, *trees: Expr) -> list[str]:
        """The declared indices the trees depend on, also through defines (sum indices are bound)."""
        deps: set[str] = set()
        stack = list(trees)
        seen: set[str] = set()
        while stack:
            tree = stack.pop()
            deps |= self.space.free_indices(tree)
            for name in free_symbols(tree):
                if name in self.space.defines and name not in seen:
                    seen.add(name)
                    stack.append(self.space.defines[name])
        return sorted(deps)

    def judge(self, student: Expr, budget: Budget) -> Judgement:
        try:
            with budget.active():
                return self._judge(student, budget)
        except TimeUp:
            return Judgement("undecided", reason=budget.message)
        except WorkLimit as exc:
            return Judgement("undecided", reason=str(exc))

    def _judge(self, student: Expr, budget: Budget) -> Judgement:
        student_float = self.float.compile(student)
        indices = self.indices_used(self.key, student)
        probe = self._probe(indices, self.key_constants | constants(student), budget)
        samples = [self._float_sample(p, student_float, budget, k) for k, p in enumerate(probe)]
        self._confirm(samples, student, budget)
        judgement = Judgement("undecided", samples, student_compiled=student_float)
        if any(s.status in (Status.DIFFER, Status.STUDENT_UNDEFINED) for s in samples):
            judgement.verdict = "different"
            return judgement
        agreeing = [s for s in samples if s.status is Status.AGREE]
        discrete = not any(not d.integer for d in self.space.variables.values()) and not self.space.families
        if len(agreeing) < (1 if discrete else MIN_AGREEING):
            judgement.reason = "the formulas have a value at too few points of the domain to compare them"
            return judgement
        judgement.verdict = "equal"
        judgement.exact = exact_compare(self.space, self.key, student, indices, budget, self.seed,
                                       self.exact_cache)
        if judgement.exact is False:
            judgement.verdict = "different"
        return judgement

    # -- floats ------------------------------------------------------------------------------------
    def _probe(self, indices: list[str], consts: set[float], budget: Budget) -> list[Probed]:
        """The probe points with the key evaluated there; the same for every answer with these constants."""
        slot = (tuple(indices), frozenset(consts))
        cached = self._points.get(slot)
        if cached is not None:
            return cached
        out = []
        for k, point in enumerate(points(self.space, indices, consts, random.Random(self.seed))):
            if k % 16 == 0:
                budget.check()
            try:
                state = self.float.bind(point.values, trace=True)
            except ARITHMETIC:
                out.append(Probed(point, None, None, False, ()))  # a define has no value here
                continue
            key, kink, region = evaluate(self.key_float, state)
            out.append(Probed(point, state.env, key, kink, region))
        if len(self._points) > 64:
            self._points.clear()
        self._points[slot] = out
        return out

    def _float_sample(self, probed: Probed, student: Compiled, budget: Budget, k: int) -> Sample:
        if k % 16 == 0:
            budget.check()
        sample = Sample(probed.point)
        if probed.env is None:
            return sample
        state = State(dict(probed.env), trace=True)
        key, key_kink, sample.key_region = probed.key, probed.kink, probed.region
        value, student_kink, sample.student_region = evaluate(student, state)
        sample.key, sample.student = key, value
        sample.kink = key_kink or student_kink
        if key is None and value is None:
            return sample
        if self._ignored(sample):
            sample.status = Status.KINK
            return sample
        if key is not None and value is not None and _close(key, value, RTOL):
            sample.status = Status.AGREE
            return sample
        sample.status = Status.DIFFER_FLOAT
        return sample

    def _ignored(self, sample: Sample) -> bool:
        return sample.kink and self.at_kinks == "ignore"

    # -- high precision ----------------------------------------------------------------------------
    def _confirm(self, samples: list[Sample], student: Expr, budget: Budget) -> None:
        suspects = [s for s in samples if s.status is Status.DIFFER_FLOAT]
        suspects.sort(key=lambda s: (s.point.special, _magnitude(s.point)))
        compiled: dict[int, Compiled] = {}
        confirmed = climbs = 0
        for k, sample in enumerate(suspects):
            budget.check()
            if confirmed and (confirmed >= ENOUGH_CONFIRMED or k >= MAX_CONFIRMATIONS):
                continue  # the verdict is known; the rest only feed feedback, as floats
            if not confirmed and k >= MAX_CONFIRMATIONS:
                sample.status = Status.SKIP  # far-out points beyond the effort bound are left out
                continue
            ladder = MP_LADDER if climbs < MAX_CLIMBS else MP_LADDER[:2]
            if self._precise(sample, student, compiled, budget, ladder) > MP_LADDER[1]:
                climbs += 1
            if sample.status in (Status.DIFFER, Status.STUDENT_UNDEFINED):
                confirmed += 1
        # unconfirmed float differences feed the feedback only if they are clear, not rounding-sized
        magnitudes = sorted(abs(float(s.key)) for s in samples if s.key is not None and s.status is Status.AGREE)
        scale = magnitudes[len(magnitudes) // 2] if magnitudes else 1.0
        for sample in samples:
            if sample.status is Status.DIFFER_FLOAT and not _clear(sample, scale):
                sample.status = Status.SKIP

    def _precise(self, sample: Sample, student: Expr, compiled: dict[int, Compiled], budget: Budget,
                 ladder: tuple[int, ...] = MP_LADDER) -> int:
        """Settle one suspect point in rising precision.

        Agreement at a precision settles it. A difference settles it only once it is the same at two
        precisions (rounding noise shrinks as digits are added, a real difference does not) and larger
        than what the lower precision can resolve: ``1 - sigmoid(1000)`` is 0 at 30 digits and only
        right at 440; such points are left out rather than settled. Returns the highest precision used.
        """
        previous: Any = None
        dps = 0
        for dps in ladder:
            if dps > MP_LADDER[1]:
                budget.check()
            program, key_mp = self.mp(dps)
            if dps not in compiled:
                compiled[dps] = program.compile(student)
            try:
                state = program.bind(sample.point.values, trace=True)
            except ARITHMETIC:
                sample.status = Status.SKIP
                return dps
            key, key_kink, key_region = evaluate(key_mp, state)
            value, student_kink, student_region = evaluate(compiled[dps], state)
            sample.kink = sample.kink or key_kink or student_kink
            if key is None:
                sample.status = Status.SKIP  # the key itself has no value: nothing to compare
                return dps
            sample.precise = True
            sample.key, sample.student = key, value
            sample.key_region, sample.student_region = key_region, student_region
            if self._ignored(sample):
                sample.status = Status.KINK
                return dps
            if value is None:
                undefined_ok = sample.point.special and not (sample.kink and self.at_kinks == "pytorch")
                sample.status = Status.SKIP if undefined_ok else Status.STUDENT_UNDEFINED
                return dps
            ten = program.B.num(Fraction(10))  # thresholds in mpmath: 10.0**-950 is 0 in floats
            if _close(key, value, ten ** -(dps - 10)):
                sample.status = Status.AGREE
                return dps
            diff = key - value
            if previous is not None:
                prev_dps, prev_diff = previous
                if abs(diff) < abs(prev_diff) * ten ** -(prev_dps // 2):
                    sample.status = Status.AGREE  # the difference was rounding noise
                    return dps
                stable = abs(diff - prev_diff) <= abs(diff) / 10**6
                if stable and abs(prev_diff) > ten ** -(prev_dps - 8):
                    sample.status = Status.DIFFER
                    return dps
            previous = (dps, diff)
        sample.status = Status.SKIP  # could not be settled: leave the point out
        return dps


def evaluate(compiled: Compiled, state: State) -> tuple[Any, bool, tuple[tuple[int, int], ...]]:
    past(state.deadline)
    state.kink = False
    state.work = 0
    if state.trace is not None:
        state.trace.clear()
    try:
        value = compiled.fn(state)
        if not _finite(value):
            value = None
    except ARITHMETIC:
        value = None
    region = tuple(state.trace) if state.trace is not None else ()
    return value, state.kink, region


def _finite(x: Any) -> bool:
    try:
        return bool(abs(x) < float("inf"))
    except TypeError:
        return False


def _close(a: Any, b: Any, rtol: float) -> bool:
    return bool(abs(a - b) <= rtol * max(abs(a), abs(b))) or bool(a == b)


def _clear(sample: Sample, scale: float) -> bool:
    if sample.key is None or sample.student is None:
        return sample.key is not None
    k, v = float(sample.key), float(sample.student)
    return abs(k - v) > 1e-6 * max(abs(k), abs(v)) and abs(k - v) > 1e-9 * scale


def _magnitude(point: Point) -> float:
    return max((abs(float(v)) for v in point.values.values()), default=0.0)
