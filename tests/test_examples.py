"""The example problem sets under problems/: each loads, and each example answers file grades."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from grader.grading.answers import read_answers_file
from grader.grading.grade import grade
from grader.grading.result import Verdict
from grader.problemset.loader import load_problem_set_file
from grader.problemset.model import NetworkProblem, ProblemSet
from grader.solver.world import solve
from tests.conftest import PROBLEMS, SPEC_VALUES

SETS = sorted(p for p in PROBLEMS.glob("*.yaml") if not p.name.endswith(".answers.yaml"))
ANSWERS = sorted(PROBLEMS.glob("*.answers.yaml"))

# What each example answers file's comment says its student did.
SLIPS: dict[str, set[str]] = {
    "dense-321": {"missing_factor_2"},
    "sparse-net": {"activation_derivative_omitted", "wrong_input", "update_wrong_sign"},
    "tanh-softmax": {"log10_for_ln", "tanh_derivative_not_squared"},
    "dl-hw2": {"bias_omitted", "update_wrong_sign"},
}


def has_expression_problems(path: Path) -> bool:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return any(p.get("kind") == "expression" for p in data.get("problems", []))


def symbolic_ready() -> bool:
    try:
        return importlib.util.find_spec("grader.symbolic.grade") is not None
    except ModuleNotFoundError:
        return False


def load(path: Path) -> ProblemSet:
    if has_expression_problems(path) and not symbolic_ready():
        pytest.skip(f"{path.name} has expression problems and grader.symbolic.grade is not there yet")
    return load_problem_set_file(path)


def set_of(answers: Path) -> Path:
    return answers.with_name(answers.name.removesuffix(".answers.yaml") + ".yaml")


def test_there_are_examples() -> None:
    assert len(SETS) >= 5
    assert ANSWERS


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_every_example_set_loads_cleanly(path: Path) -> None:
    ps = load(path)
    assert ps.id == path.stem, "the set id is the file name"
    assert ps.problems and ps.max_score > 0
    assert ps.warnings == []


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_every_example_set_has_an_example_answers_file(path: Path) -> None:
    assert path.with_name(f"{path.stem}.answers.yaml").exists()


@pytest.mark.parametrize("path", ANSWERS, ids=lambda p: p.name)
def test_every_example_answers_file_grades(path: Path) -> None:
    ps = load(set_of(path))
    answers = read_answers_file(path)
    assert answers.problem_set == ps.id
    result = grade(ps, answers)
    assert result.warnings == []
    assert [p.id for p in result.problems] == [p.id for p in ps.problems]
    for problem, graded in zip(ps.problems, result.problems, strict=True):
        assert graded.max_score == problem.max_score
        if isinstance(problem, NetworkProblem):
            assert [part.quantity for part in graded.parts] == [q.name for q in problem.ask]
    assert 0 <= result.score < result.max_score, "an example has realistic slips in it"
    verdicts = {part.verdict for p in result.problems for part in p.parts}
    assert Verdict.CORRECT in verdicts and Verdict.INCORRECT in verdicts
    named = {part.misconception for p in result.problems for part in p.parts if part.misconception}
    assert named >= SLIPS.get(ps.id, set())
    assert result.to_dict()["problem_set"] == ps.id


def test_the_specs_worked_example_is_an_example_set() -> None:
    found = []
    for path in SETS:
        if has_expression_problems(path) and not symbolic_ready():
            continue
        ps = load_problem_set_file(path)
        for problem in ps.problems:
            if isinstance(problem, NetworkProblem) and set(SPEC_VALUES) <= set(problem.quantities):
                world = solve(problem, {})
                if all(abs(world.value(problem.quantities[n]) - v) <= 5e-7 for n, v in SPEC_VALUES.items()):
                    found.append(f"{path.name}:{problem.id}")
    assert found


def test_follow_through_credit_of_an_example_set_is_used() -> None:
    path = PROBLEMS / "tanh-softmax.answers.yaml"
    if not path.exists():
        pytest.skip("the example is gone")
    result = grade(load(set_of(path)), read_answers_file(path))
    credits = {part.credit for p in result.problems for part in p.parts if part.verdict is Verdict.FOLLOW_THROUGH}
    assert credits == {0.8}
