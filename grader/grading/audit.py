"""The instructor is warned (SPEC 6.1.6): tolerances that accept a slip, and keys that are undefined.

For each asked quantity of each network problem, in the reference variant and, for a randomised
problem, in a few students' variants:

- the tolerance would accept 0, or the value with the wrong sign (for an update ``next.w``: no step,
  or the step reversed), or (for a tolerance other than the default) the value a catalogued mistake
  gives: under the default the judge refuses a mistake's value whenever the digits tell it apart;
- the key is undefined (NaN: a derivative where the function has none, an overflow).

Warnings are grouped per problem and kind, naming the first few quantities with their keys.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from grader.grading.network import start_of
from grader.grading.numeric import is_close
from grader.grading.search import MistakeSearch, mistaken_values
from grader.grading.steps import step_close
from grader.problemset.model import NetworkProblem, ProblemSet, Tolerance
from grader.solver.world import Overrides, solve, variant_leaves

VARIANTS = 3  # students' variants sampled for a randomised problem, besides the reference
SHOWN = 3  # quantities named per warning
ZERO = 1e-8  # a key this small is 0 as far as a tolerance can tell: no warning that 0 is accepted
DEFAULT = Tolerance()
MISTAKE_BUDGET = 2.0  # seconds of processor time per problem for the check against named mistakes


def audit(ps: ProblemSet) -> list[str]:
    """The warnings of SPEC 6.1.6 for ``ps``; they are also added to ``ps.warnings`` (once each)."""
    found: list[str] = []
    for problem in ps.problems:
        if isinstance(problem, NetworkProblem):
            found += problem_warnings(problem, ps.id)
    for w in found:
        if w not in ps.warnings:
            ps.warnings.append(w)
    return found


def problem_warnings(problem: NetworkProblem, set_id: str) -> list[str]:
    students: list[str | None] = ["reference"]
    if problem.randomised:
        students += [f"audit-{k}" for k in range(1, VARIANTS + 1)]
    zero: dict[str, tuple[str, float]] = {}
    sign: dict[str, tuple[str, float]] = {}
    mistake: dict[str, tuple[str, float, str]] = {}
    undefined: dict[str, str | None] = {}
    unchecked: set[str] = set()
    began = time.process_time()
    for student in students:
        leaves = variant_leaves(problem, "check" if student == "reference" else set_id, student)
        key = solve(problem, leaves)
        search = MistakeSearch(problem, leaves, Overrides(), key, key, max_steps=10**9)
        for q in problem.ask:
            right = key.value(q)
            if not math.isfinite(right):
                undefined.setdefault(q.name, student)
                continue
            tol = problem.tolerance_for(q.name)
            start = start_of(problem, q, key)
            accepts = _accepts(right, tol, start)
            step = right if start is None else right - start
            if abs(step) > ZERO and accepts(0.0 if start is None else start):
                zero.setdefault(q.name, (tol.describe(), right))
            if abs(step) > ZERO and accepts(-right if start is None else 2 * start - right):
                sign.setdefault(q.name, (tol.describe(), right))
            if tol == DEFAULT:
                continue  # the judge refuses a named mistake's value whenever the digits written tell it apart
            if time.process_time() - began > MISTAKE_BUDGET:
                unchecked.add(q.name)
                continue
            for n in mistaken_values(problem, leaves, key, [q], search)[q.name]:
                if abs(n.value - right) > 1e-12 * max(abs(right), 1e-300) and accepts(n.value):
                    mistake.setdefault(q.name, (tol.describe(), right, n.mistake.name))
                    break
    out = []
    if zero:
        out.append(f"{problem.id}: the tolerance accepts 0 (for an update: no step) for {_listed(zero)}; "
                   "tighten it, or use {decimals: ...} or {sigfigs: ...}")
    if sign:
        out.append(f"{problem.id}: the tolerance accepts the wrong sign (for an update: the step reversed) for "
                   f"{_listed(sign)}; tighten it")
    if mistake:
        shown = [f"{n} ({m[2]}, key {m[1]:.4g}, {m[0]})" for n, m in list(mistake.items())[:SHOWN]]
        more = f" and {len(mistake) - SHOWN} more" if len(mistake) > SHOWN else ""
        out.append(f"{problem.id}: the tolerance accepts a named mistake's value for {', '.join(shown)}{more}: "
                   "that mistake would be marked correct; tighten it")
    if unchecked:
        out.append(f"{problem.id}: {len(unchecked)} of {len(problem.ask)} asked quantities were not checked "
                   f"against the named mistakes (the check is bounded to {MISTAKE_BUDGET:g} s per problem)")
    variants = {n: s for n, s in undefined.items() if s != "reference"}
    if variants:
        names = list(variants)
        more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
        out.append(f"{problem.id}: the key of {', '.join(names[:SHOWN])}{more} is undefined for some students' "
                   "drawn values (a derivative where there is none, or an overflow): narrow the draws")
    return out


def _listed(found: dict[str, tuple[str, float]]) -> str:
    shown = [f"{n} (key {right:.4g}, {tol})" for n, (tol, right) in list(found.items())[:SHOWN]]
    more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    return ", ".join(shown) + more


def _accepts(right: float, tol: Tolerance, start: float | None) -> Callable[[float], bool]:
    if start is None:
        return lambda value: is_close(value, right, tol)
    return lambda value: step_close(value, right, start, tol, None)
