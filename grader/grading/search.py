"""The search for a named mistake that explains a wrong answer, in the student's own world."""

from __future__ import annotations

import math
from dataclasses import dataclass

from grader.grading.mistakes import NEXT, SIGN_ERROR, Mistake, can_explain, mistakes_for
from grader.grading.numeric import is_close
from grader.grading.steps import step_close
from grader.problemset.model import NetworkProblem, Quantity, Tolerance
from grader.solver.world import Overrides, World, gradient_step, solve


@dataclass(frozen=True)
class Named:
    """A catalogued mistake that explains an answer: which, the value it gives, and what to tell the student."""

    mistake: Mistake
    value: float  # the quantity's value under the mistake, in the world it was found in
    explanation: str  # the sentence for this case (may name where: "w2 used with the wrong sign")


_STAGE = {"value": 0, "grad": 1, "next": 2}
MAX_MISTAKEN_WORLDS = 48  # per submission: bounds the search for answers that match no mistake


class MistakeSearch:
    """Evaluates the student's world under each applicable mistake, lazily, once per submission.

    A world is computed only as far as the quantity needs (a node value: the forward pass; a
    gradient: no descent step) and reused for later quantities that need no more. At most
    ``MAX_MISTAKEN_WORLDS`` worlds are evaluated for one submission; past that a wrong answer is
    reported without a name.
    """

    def __init__(self, problem: NetworkProblem, leaves: dict[int, float], numbers: Overrides,
                 mine: World, key: World) -> None:
        self.problem = problem
        self.leaves = leaves
        self.numbers = numbers
        self.mine = mine
        self.key = key
        self.worlds: dict[tuple[int, frozenset[int]], tuple[int, World]] = {}
        self.evaluated = 0

    def world(self, index: int, m: Mistake, where: frozenset[int], kind: str) -> World | None:
        """The student's world under mistake ``m`` at ``where``, or None once the budget is spent."""
        stage = _STAGE[kind]
        cached = self.worlds.get((index, where))
        if cached is not None and cached[0] >= stage:
            return cached[1]
        if self.evaluated >= MAX_MISTAKEN_WORLDS:
            return None
        self.evaluated += 1
        forward_hook, backward_hook = m.hooks(where)
        w = solve(self.problem, self.leaves, self.numbers, forward_hook=forward_hook,
                  backward_hook=backward_hook, update=m.update or gradient_step, base=self.mine,
                  forward_only=stage == 0, with_next=stage == 2)
        self.worlds[(index, where)] = (stage, w)
        return w

    def find(self, q: Quantity, value: float, tol: Tolerance, own: float,
             start: float | None = None, unit: float | None = None) -> Named | None:
        """The mistake whose world gives ``value`` for ``q``; an update (``start`` given) is matched on its step."""

        def close(a: float, b: float) -> bool:
            return is_close(a, b, tol) if start is None else step_close(a, b, start, tol, unit)

        for index, m in enumerate(mistakes_for(self.problem)):
            if q.kind not in m.kinds:
                continue
            for where in m.variants():
                if not can_explain(self.problem, m, where, q.kind, q.target):
                    continue
                world = self.world(index, m, where, NEXT if q.step else q.kind)
                if world is None:
                    break
                candidate = world.value(q)
                if close(value, candidate) and not close(candidate, own):
                    return Named(m, candidate, m.explanation)
        if start is None and own != 0 and is_close(value, -own, tol):
            return Named(SIGN_ERROR, -own, SIGN_ERROR.explanation)
        return None


def mistaken_values(problem: NetworkProblem, leaves: dict[int, float], key: World) -> dict[str, list[Named]]:
    """For each asked quantity, the values the catalogued mistakes give it in the key's world.

    What an instructor's tolerance must not accept (SPEC 6.1.6); a value equal to the key's is left out.
    """
    search = MistakeSearch(problem, leaves, Overrides(), key, key)
    out: dict[str, list[Named]] = {}
    for q in problem.ask:
        right = key.value(q)
        found: list[Named] = []
        for index, m in enumerate(mistakes_for(problem)):
            if q.kind not in m.kinds:
                continue
            for where in m.variants()[:1 + MAX_SINGLE_SITES_TRIED]:
                if not can_explain(problem, m, where, q.kind, q.target):
                    continue
                search.evaluated = min(search.evaluated, MAX_MISTAKEN_WORLDS - 1)  # no budget here
                world = search.world(index, m, where, NEXT if q.step else q.kind)
                assert world is not None
                value = world.value(q)
                if value != right and math.isfinite(value):
                    found.append(Named(m, value, m.explanation))
                    break
        if right != 0 and math.isfinite(right):
            found.append(Named(SIGN_ERROR, -right, SIGN_ERROR.explanation))
        out[q.name] = found
    return out


MAX_SINGLE_SITES_TRIED = 8
