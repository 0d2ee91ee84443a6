"""SPEC 6.1's properties on random networks, under the default tolerance, against the solver's exact values.

120 networks (node form and layer form, every activation of the layer form and the node form's
losses, sparse and dense) asking every node, gradient and update:

1. students who round at 4 decimals, 3 or 4 significant figures and carry their rounding (every
   value they compute is rounded before it is used) have every asked quantity ``correct``;
2. the wrong sign, twice, half and ten times a quantity with |key| >= 1e-3, all else right, is
   never ``correct`` (for an update: the step);
3. no step, the step uphill and the step without the learning rate are never ``correct`` nor
   ``follow_through`` when the step is larger than the last digit written.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Any

import pytest
import yaml

from grader.grading.answers import Answers
from grader.grading.grade import grade
from grader.grading.result import Verdict
from grader.problemset.loader import load_problem_set
from grader.problemset.model import NetworkProblem, ProblemSet
from grader.solver.world import World, solve
from tests.grading.random_networks import dense_ask, layer_problem, node_problem

NETWORKS = 120


def default_set(raw: dict[str, Any]) -> ProblemSet:
    first = load_problem_set(yaml.safe_dump({"id": "rnd", "problems": [raw]}), "r.yaml").problems[0]
    assert isinstance(first, NetworkProblem)
    return load_problem_set(yaml.safe_dump({"id": "rnd", "problems": [{**raw, "ask": dense_ask(first)}]}), "r.yaml")


def networks() -> list[ProblemSet]:
    out = []
    rng = random.Random(2026)
    while len(out) < NETWORKS:
        raw = node_problem(rng) if len(out) % 2 else layer_problem(rng)
        ps = default_set(raw)
        problem = ps.problems[0]
        assert isinstance(problem, NetworkProblem)
        key = solve(problem, {})
        values = [key.value(q) for q in problem.ask]
        if not all(math.isfinite(v) and abs(v) < 1e6 for v in values):
            continue
        if any(abs(key.values[problem.tape.slot_of[n]]) < 1e-3 for n in problem.order  # type: ignore[union-attr]
               if n.startswith("z")):
            continue  # a pre-activation at a kink of relu: rounding may cross it
        out.append(ps)
    return out


NETS = networks()


def round_sig(x: float, digits: int) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def written(x: float, how: str) -> str:
    """A number as a student writes it, digits kept: '0.8340', '1.20e-05'."""
    if how == "4dec":
        return f"{x:.4f}"
    digits = int(how[0])
    return f"{x:.{digits - 1}e}" if x != 0 and abs(x) < 1e-3 else f"{x:#.{digits}g}"


def rounder(how: str) -> Any:
    return (lambda x: round(x, 4)) if how == "4dec" else (lambda x: round_sig(x, int(how[0])))


def carried(problem: NetworkProblem, how: str) -> dict[str, float]:
    """Every asked quantity computed from the rounded values before it, rounded."""
    rnd = rounder(how)
    over: dict[str, float] = {}
    loss = problem.loss
    order = [*problem.order, *(f"d{loss}/d{n}" for n in reversed(problem.order) if n != loss),
             *(f"d{loss}/d{p}" for p in problem.params), *(f"next.{p}" for p in problem.params),
             *(f"next.{n}" for n in problem.order)]
    for name in order:
        world: World = solve(problem, {}, over)
        over[name] = rnd(world.value(problem.quantities[name]))
    return over


def half_asked(ps: ProblemSet) -> ProblemSet:
    """The same problem asking every other quantity: the rest is the student's unwritten, rounded working."""
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    text = ps.source_text if ps.source_text else None
    assert text is not None
    data = yaml.safe_load(text)
    data["problems"][0]["ask"] = [q.name for q in problem.ask][1::2]
    return load_problem_set(yaml.safe_dump(data), "r.yaml")


def verdicts(ps: ProblemSet, answers: dict[str, Any]) -> dict[str, Verdict]:
    result = grade(ps, Answers(ps.id, "s1", {"q1": answers}))
    return {p.quantity: p.verdict for p in result.problems[0].parts}


@pytest.mark.parametrize("asked", ["all", "half"])
@pytest.mark.parametrize("how", ["4dec", "3sig", "4sig"])
def test_carried_rounding_is_correct(how: str, asked: str) -> None:
    bad: Counter[str] = Counter()
    examples = []
    total = 0
    for index, full in enumerate(NETS[: NETWORKS // 3] if how != "4dec" else NETS[: NETWORKS // 2]):
        ps = full if asked == "all" else half_asked(full)
        problem = ps.problems[0]
        assert isinstance(problem, NetworkProblem)
        names = {q.name for q in problem.ask}
        values = {n: v for n, v in carried(problem, how).items() if n in names}
        got = verdicts(ps, {n: written(v, how) for n, v in values.items()})
        for name, verdict in got.items():
            total += 1
            if verdict is not Verdict.CORRECT:
                bad[verdict.value] += 1
                examples.append((index, name, values[name], verdict.value))
    assert not bad, (f"{sum(bad.values())} of {total}", bad, examples[:5])


def test_the_key_rounded_is_correct() -> None:
    for ps in NETS:
        problem = ps.problems[0]
        assert isinstance(problem, NetworkProblem)
        key = solve(problem, {})
        for how in ("4dec", "3sig"):
            got = verdicts(ps, {q.name: written(key.value(q), how) for q in problem.ask})
            wrong = {n: v for n, v in got.items() if v is not Verdict.CORRECT}
            assert not wrong, (how, wrong)


def test_slips_are_never_correct() -> None:
    rng = random.Random(7)
    checked = 0
    for ps in NETS:
        problem = ps.problems[0]
        assert isinstance(problem, NetworkProblem)
        key = solve(problem, {})
        right = {q.name: f"{key.value(q):.6g}" for q in problem.ask}
        for q in rng.sample(list(problem.ask), 4):
            value = key.value(q)
            start = key.values[problem.tape.slot_of[q.target]] if q.kind == "next" and q.target in problem.params \
                else None  # type: ignore[union-attr]
            step = value if start is None else value - start
            if abs(step) < 1e-3:
                continue
            for factor in (-1.0, 2.0, 0.5, 10.0):
                slipped = (start or 0.0) + step * factor
                got = verdicts(ps, {**right, q.name: f"{slipped:.4e}"})
                checked += 1
                assert got[q.name] is not Verdict.CORRECT, (q.name, value, slipped)
    assert checked > 300


def test_update_slips_are_never_right() -> None:
    checked = 0
    for ps in NETS:
        problem = ps.problems[0]
        assert isinstance(problem, NetworkProblem) and problem.learning_rate is not None
        eta = problem.learning_rate
        key = solve(problem, {})
        right = {q.name: f"{key.value(q):.6g}" for q in problem.ask}
        for p in list(problem.params)[:4]:
            w = key.values[problem.tape.slot_of[p]]  # type: ignore[union-attr]
            g = key.value(problem.quantities[f"dL/d{p}"])
            if abs(eta * g) <= 1e-6:  # no larger than the last digit written (6 decimals)
                continue
            for wrong in (w, w + eta * g, w - g):
                if abs(wrong - (w - eta * g)) <= 1e-6:
                    continue
                got = verdicts(ps, {**right, f"next.{p}": f"{wrong:.6f}"})
                checked += 1
                assert got[f"next.{p}"] not in (Verdict.CORRECT, Verdict.FOLLOW_THROUGH), (p, w, g, wrong)
    assert checked > 300
