"""Benchmark of grading with the mistake search: graded submissions per second on one core.

Run: ``python bench/bench_mistakes.py [--submissions N]``. Two problems: the 30-quantity 3-2-1 network
of bench_core.py, and a layer-form network of 5-8-6-3 units (tanh, softmax, cross-entropy) asking
every node, every gradient and every update (316 quantities). Both are graded with
``grader.grading.grade.grade`` on ``Answers``, mistake names included.

The mix of submissions (drawn with ``random.Random``, rounded to 4 significant figures and carried
forward as a student carries them, 3 % of the answers left blank):

- 40 % right answers;
- 20 % one slip carried forward (one value off by 10 % and the rest computed from it);
- 30 % one catalogued mistake injected at a random place (tests/grading/random_networks.py);
- 10 % three random wrong answers (uniform numbers of the key's size, random signs), the rest right.

Printed: submissions per second for each problem, and, as the baseline of the same run, the same
submissions graded with the search switched off (``find`` returning no name), so the ratio is the
search's own cost. The figures are for a warm worker: each batch is graded once before it is timed,
so the per-problem caches (the key, the nearness of mistakes to each quantity) are filled, as they
are after a worker's first submissions of a class. No timed assertions.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.grading import network
from grader.grading.answers import Answers
from grader.grading.grade import grade
from grader.grading.search import MistakeSearch, Named
from grader.problemset.loader import load_problem_set
from grader.problemset.model import NetworkProblem, ProblemSet
from grader.solver.world import solve
from tests.grading.random_networks import answers_under, injections, layer_problem, load, sig4

NET_321 = Path(__file__).with_name("bench_core.py").read_text().split('NET_321 = """')[1].split('"""')[0]


def mix(ps: ProblemSet, count: int, seed: int = 1) -> list[Answers]:
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    rng = random.Random(seed)
    key = solve(problem, {})
    available = [inj for group in injections(problem).values() for inj in group]
    values = [q for q in problem.ask if q.kind == "value"]
    right = {q.name: sig4(key.value(q)) for q in problem.ask}
    out = []
    for i in range(count):
        roll = rng.random()
        answers: dict[str, Any]
        if roll < 0.4:
            answers = dict(right)
        elif roll < 0.6:
            q = rng.choice(values)
            slipped = key.value(q) * 1.1 + 0.05
            world = solve(problem, {}, {q.name: slipped})
            answers = {p.name: sig4(world.value(p)) for p in problem.ask}
            answers[q.name] = sig4(slipped)
        elif roll < 0.9:
            answers, _ = answers_under(problem, rng.choice(available))
        else:
            answers = dict(right)
            for q in rng.sample(list(problem.ask), 3):
                answers[q.name] = sig4(rng.choice([-1, 1]) * rng.uniform(0, 2) * (abs(key.value(q)) or 1.0))
        answers = {k: v for k, v in answers.items() if rng.random() >= 0.03}
        out.append(Answers(ps.id, f"s{i}", {problem.id: answers}))
    return out


def rate(ps: ProblemSet, batch: list[Answers]) -> tuple[float, int]:
    for answers in batch:  # a worker grading a class: the problem's caches are filled by the first pass
        grade(ps, answers)
    start = time.process_time()
    named = 0
    for answers in batch:
        for part in grade(ps, answers).problems[0].parts:
            named += part.misconception is not None
    return len(batch) / (time.process_time() - start), named


class _NoSearch(MistakeSearch):
    def find(self, *args: Any, **kwargs: Any) -> Named | None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=2000)
    args = parser.parse_args()
    small = load_problem_set(NET_321, "bench-321")
    big = load(layer_problem(random.Random(5), sizes=(5, 8, 6, 3)))
    for label, ps, n in (("30-quantity 3-2-1", small, args.submissions), ("316-quantity 5-8-6-3", big,
                                                                          max(args.submissions // 4, 50))):
        problem = ps.problems[0]
        assert isinstance(problem, NetworkProblem)
        batch = mix(ps, n)
        with_search, named = rate(ps, batch)
        setattr(network, "MistakeSearch", _NoSearch)  # noqa: B010
        try:
            without, _ = rate(ps, batch)
        finally:
            setattr(network, "MistakeSearch", MistakeSearch)  # noqa: B010
        print(f"{label} ({len(problem.ask)} quantities, {len(problem.tape.steps) if problem.tape else 0} steps): "
              f"{with_search:,.0f} submissions/s with mistake names ({named} named in {n} submissions); "
              f"{without:,.0f}/s without the search in the same run (ratio {with_search / without:.2f})")


if __name__ == "__main__":
    main()
