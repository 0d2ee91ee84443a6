"""Randomised values: one reproducible variant per student, different between students."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.key import answer_key, problem_view
from grader.problemset.loader import load_problem_set_file
from grader.problemset.model import NetworkProblem
from grader.solver.world import variant_leaves
from tests.conftest import PROBLEMS, ROOT, grade_answers, load_problem, load_set, make_problem, parts, run_cli

RANDOM = PROBLEMS / "random-weights.yaml"
STUDENTS = [f"s{i:03d}" for i in range(60)]


def drawn(problem: NetworkProblem, student: str | None, set_id: str = "t-set") -> dict[str, float]:
    """The values of one student's variant, by name."""
    assert problem.tape is not None
    return {problem.tape.name_of[slot]: x for slot, x in variant_leaves(problem, set_id, student).items()}


def one_draw(spec: Any, **extra_params: Any) -> NetworkProblem:
    """A one-neuron problem whose parameter w is drawn by ``spec``."""
    return load_problem(make_problem({"L": "(w*x - y)^2"}, given={"x": 1.5, "y": 0.5},
                                     params={"w": spec, **extra_params}))


def key_values(key: dict[str, Any], problem: int = 0) -> dict[str, float]:
    return {q["quantity"]: q["value"] for q in key["problems"][problem]["quantities"]}


def run_process(*args: str, hash_seed: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60, check=False)


def test_the_same_student_gets_the_same_numbers() -> None:
    first = answer_key(load_problem_set_file(RANDOM), student="s1")
    again = answer_key(load_problem_set_file(RANDOM), student="s1")
    assert first == again


def test_different_students_get_different_numbers() -> None:
    ps = load_problem_set_file(RANDOM)
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    variants = {tuple(sorted(drawn(problem, s, ps.id).items())) for s in STUDENTS}
    assert len(variants) == len(STUDENTS)
    for name in ("w1", "w2", "b", "x2"):
        assert len({drawn(problem, s, ps.id)[name] for s in STUDENTS}) > 5, name


def test_neighbours_get_different_keys() -> None:
    ps = load_problem_set_file(RANDOM)
    a, b = key_values(answer_key(ps, student="s1")), key_values(answer_key(ps, student="s2"))
    assert a != b
    assert a["L"] != b["L"]


def test_the_variant_is_the_same_in_another_process() -> None:
    here = answer_key(load_problem_set_file(RANDOM), student="s42")
    out = run_process("key", str(RANDOM), "--student", "s42", "--format", "json", hash_seed="12345")
    assert out.returncode == 0, out.stderr
    there = json.loads(out.stdout)
    for field in ("given", "params"):
        assert there["problems"][0][field] == here["problems"][0][field]
    assert key_values(there) == key_values(here)


def test_a_draw_does_not_depend_on_what_else_the_set_holds() -> None:
    alone = one_draw({"uniform": [-1, 1], "decimals": 2})
    more = one_draw({"uniform": [-1, 1], "decimals": 2}, v={"uniform": [-1, 1]}, c=0.5)
    for s in STUDENTS[:10]:
        assert drawn(alone, s)["w"] == drawn(more, s)["w"]
    other = make_problem({"L": "u^2"}, params={"u": {"uniform": [-1, 1]}}, pid="q0")
    ps = load_set(other, make_problem({"L": "(w*x - y)^2"}, given={"x": 1.5, "y": 0.5},
                                      params={"w": {"uniform": [-1, 1], "decimals": 2}}))
    second = ps.problems[1]
    assert isinstance(second, NetworkProblem)
    for s in STUDENTS[:10]:
        assert drawn(second, s)["w"] == drawn(alone, s)["w"]


def test_a_draw_depends_on_the_set_and_the_problem() -> None:
    problem = one_draw({"uniform": [-1, 1], "decimals": 3})
    renamed = load_problem(make_problem({"L": "(w*x - y)^2"}, given={"x": 1.5, "y": 0.5},
                                        params={"w": {"uniform": [-1, 1], "decimals": 3}}, pid="q2"))
    by_set = [drawn(problem, s, "set-a")["w"] for s in STUDENTS[:20]]
    assert by_set != [drawn(problem, s, "set-b")["w"] for s in STUDENTS[:20]]
    assert [drawn(problem, s)["w"] for s in STUDENTS[:20]] != [drawn(renamed, s)["w"] for s in STUDENTS[:20]]


def test_fixed_values_pass_through_a_randomised_problem() -> None:
    problem = one_draw({"uniform": [-1, 1]}, c=0.25)
    for s in STUDENTS[:5]:
        v = drawn(problem, s)
        assert v["c"] == 0.25 and v["x"] == 1.5 and v["y"] == 0.5


def test_nonzero_is_respected() -> None:
    nonzero = one_draw({"uniform": [-0.2, 0.2], "decimals": 1, "nonzero": True})
    anything = one_draw({"uniform": [-0.2, 0.2], "decimals": 1})
    with_zero = [drawn(anything, f"n{i}")["w"] for i in range(300)]
    assert 0.0 in with_zero  # without nonzero, 0 is one of five values
    values = [drawn(nonzero, f"n{i}")["w"] for i in range(300)]
    assert 0.0 not in values
    assert set(values) == {-0.2, -0.1, 0.1, 0.2}


def test_nonzero_choice_is_respected() -> None:
    problem = one_draw({"choice": [0, 2, -3], "nonzero": True})
    assert {drawn(problem, f"n{i}")["w"] for i in range(200)} == {2.0, -3.0}


@pytest.mark.parametrize("decimals", [0, 1, 2, 3])
def test_decimals_are_respected(decimals: int) -> None:
    problem = one_draw({"uniform": [-5, 5], "decimals": decimals})
    values = [drawn(problem, f"d{i}")["w"] for i in range(200)]
    assert all(-5 <= x <= 5 for x in values)
    assert all(round(x, decimals) == x for x in values)
    if decimals:
        assert any(round(x, decimals - 1) != x for x in values), "values use the last decimal place"


def test_the_default_is_two_decimals() -> None:
    problem = one_draw({"uniform": [0, 1]})
    values = [drawn(problem, f"d{i}")["w"] for i in range(100)]
    assert all(round(x, 2) == x for x in values) and any(round(x, 1) != x for x in values)


def test_choice_draws_every_listed_value_and_nothing_else() -> None:
    problem = one_draw({"choice": [0.5, 1.0, 1.5]})
    assert {drawn(problem, f"c{i}")["w"] for i in range(200)} == {0.5, 1.0, 1.5}


def test_no_student_is_the_reference_variant() -> None:
    ps = load_problem_set_file(RANDOM)
    assert answer_key(ps) == {**answer_key(ps, student=""), "student": None}
    assert key_values(answer_key(ps)) != key_values(answer_key(ps, student="s1"))


def test_grader_key_student_prints_that_students_variant(capsys: Any, monkeypatch: Any) -> None:
    code_1, out_1, _ = run_cli(capsys, monkeypatch, "key", str(RANDOM), "--student", "s1", "--format", "json")
    code_2, out_2, _ = run_cli(capsys, monkeypatch, "key", str(RANDOM), "--student", "s2", "--format", "json")
    assert code_1 == code_2 == 0
    key_1, key_2 = json.loads(out_1), json.loads(out_2)
    assert key_1["student"] == "s1"
    assert key_1["problems"][0]["params"] != key_2["problems"][0]["params"]
    assert key_1 == answer_key(load_problem_set_file(RANDOM), student="s1")
    code, text, _ = run_cli(capsys, monkeypatch, "key", str(RANDOM), "--student", "s1")
    assert code == 0 and "s1" in text
    w1 = key_1["problems"][0]["params"]["w1"]
    assert f"w1={w1:g}" in text


def answers_file(path: Path, student: str, values: dict[str, float]) -> Path:
    path.write_text(yaml.safe_dump({"problem_set": "random-weights", "student": student,
                                    "answers": {"neuron": values}}), encoding="utf-8")
    return path


def test_grader_check_grades_against_the_students_variant(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    ps = load_problem_set_file(RANDOM)
    mine = key_values(answer_key(ps, student="s7"))
    own = answers_file(tmp_path / "s7.yaml", "s7", mine)
    code, out, err = run_cli(capsys, monkeypatch, "check", str(RANDOM), str(own), "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["student"] == "s7"
    assert result["score"] == result["max_score"] > 0
    copied = answers_file(tmp_path / "s8.yaml", "s8", mine)
    code, out, err = run_cli(capsys, monkeypatch, "check", str(RANDOM), str(copied), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["score"] < result["max_score"]


def test_grading_in_process_uses_the_students_variant() -> None:
    ps = load_problem_set_file(RANDOM)
    mine = key_values(answer_key(ps, student="s9"))
    graded = parts(grade_answers(ps, {"neuron": mine}, student="s9"), "neuron")
    assert all(p.verdict == "correct" for p in graded.values())
    for name, part in graded.items():
        assert part.expected == pytest.approx(mine[name], rel=1e-5, abs=1e-6)


def test_problem_view_shows_the_students_numbers_and_no_answers() -> None:
    ps = load_problem_set_file(RANDOM)
    view = problem_view(ps, "s3", "neuron")
    key = answer_key(ps, student="s3")["problems"][0]
    assert view["params"] == key["params"] and view["given"] == key["given"]
    assert view["ask"] == [q["quantity"] for q in key["quantities"]]
    assert "quantities" not in view
    assert problem_view(ps, "s4", "neuron")["params"] != view["params"]
