"""Which quantities a quantity depends on: the same answer as the plain set algorithm, at any width, quickly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from grader.grading.follow_through import _ancestors, depends_on
from grader.problemset.loader import load_problem_set, load_problem_set_file
from grader.problemset.model import NetworkProblem
from grader.problemset.network import step_prefix
from tests.conftest import PROBLEMS, SPEC_Q1, load_problem
from tests.problemset.test_limits import layered, text_of


def reference(problem: NetworkProblem) -> dict[str, tuple[str, ...]]:
    """The dependencies as first written, with sets (cubic in the width of a network: kept here as the spec)."""
    anc = _ancestors(problem)
    nodes, loss, params = problem.order, problem.loss, problem.params
    deps: dict[str, set[str]] = {}
    steps = problem.steps if problem.optimizer is not None else 0
    state = problem.optimizer.state if problem.optimizer is not None else ()
    for k in range(steps + 1):
        here, before = step_prefix(k), step_prefix(k - 1) if k else ""
        if k:
            for p in params:
                g = f"{before}d{loss}/d{p}"
                gradient = {g} | deps.get(g, set())
                for part in state:
                    previous = f"{before}{part}.{p}"
                    deps[f"{here}{part}.{p}"] = gradient | ({previous} | deps[previous] if k > 1 else set())
                found = set(gradient)
                if k > 1:
                    found |= {before + p} | deps[before + p]
                for part in state:
                    found |= {f"{here}{part}.{p}"} | deps[f"{here}{part}.{p}"]
                deps[here + p] = found
        for n in nodes:
            found = {here + m for m in anc[n] if m in problem.forward or (k and m in params)}
            for m in list(found):
                found |= deps.get(m, set())
            deps[here + n] = found
        for x in (*nodes, *params, *problem.given):
            if x == loss or f"{here}d{loss}/d{x}" not in problem.quantities:
                continue
            found = set()
            for d in (d for d in nodes if x in anc[d]):
                if d != loss:
                    found.add(f"{here}d{loss}/d{d}")
                for m in anc[d] | {d}:
                    if (m in problem.forward and m != loss) or (k and m in params):
                        found |= {here + m} | deps.get(here + m, set())
            deps[f"{here}d{loss}/d{x}"] = found
    rank = {name: i for i, name in enumerate(problem.quantities)}
    return {q: tuple(sorted(d, key=lambda k: rank.get(k, 0))) for q, d in deps.items()}


def networks() -> list[tuple[str, NetworkProblem]]:
    out = [("spec q1", load_problem(SPEC_Q1))]
    for path in sorted(Path(PROBLEMS).glob("*.yaml")):
        if not path.name.endswith(".answers.yaml"):
            out += [(f"{path.stem} {p.id}", p) for p in load_problem_set_file(path).problems
                    if isinstance(p, NetworkProblem)]
    wide = load_problem_set(text_of(layered([12, 7, 3], inputs=5)), "wide.yaml").problems[0]
    assert isinstance(wide, NetworkProblem)
    adam = load_problem({**{k: v for k, v in SPEC_Q1.items() if k != "learning_rate"},
                         "optimizer": {"adam": {"lr": 0.01}}, "steps": 3, "ask": ["z1", "step3.dL/dw1"]})
    momentum = load_problem({**SPEC_Q1, "learning_rate": 0.1, "steps": 2})
    return [*out, ("a 5-12-7-3 network", wide), ("adam, 3 steps", adam), ("sgd, 2 steps", momentum)]


@pytest.mark.parametrize("problem", [p for _, p in networks()], ids=[name for name, _ in networks()])
def test_the_same_dependencies_as_the_set_algorithm(problem: NetworkProblem) -> None:
    expected = reference(problem)
    for quantity in problem.quantities:
        assert depends_on(problem, quantity) == expected.get(quantity, ()), quantity


def test_a_network_at_the_size_bound_is_quick() -> None:
    problem = load_problem_set(text_of(layered([14] * 5)), "big.yaml").problems[0]  # deep and narrow: the worst
    assert isinstance(problem, NetworkProblem)
    start = time.process_time()
    for quantity in problem.quantities:
        depends_on(problem, quantity)
    assert time.process_time() - start < 2  # about 0.3 s; the set algorithm took 3.6 s
