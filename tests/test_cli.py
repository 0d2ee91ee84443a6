"""The ``grader`` command: key, check and validate, in text and JSON, with their exit codes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.cli import main
from tests.conftest import PROBLEMS, ROOT, SPEC_Q1, SPEC_VALUES, make_network_set, make_problem, run_cli

VERDICTS = {"correct", "follow_through", "incorrect", "missing", "invalid", "undecided"}


@pytest.fixture
def spec_set(tmp_path: Path) -> Path:
    path = tmp_path / "dl-hw2.yaml"
    second = make_problem({"L": "(w*x - y)^2"}, given={"x": 2.0, "y": 1.0}, params={"w": 0.3}, pid="q9")
    path.write_text(make_network_set(SPEC_Q1, second, set_id="dl-hw2"), encoding="utf-8")
    return path


def answers(tmp_path: Path, problems: dict[str, Any], problem_set: str = "dl-hw2", student: str = "s123") -> Path:
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump({"problem_set": problem_set, "student": student, "answers": problems},
                                   allow_unicode=True), encoding="utf-8")
    return path


SLIPS = {"q1": {"z1": 1.1, "h1": 0.8005, "z2": 0.3, "dL/dw1": -0.119, "next.w1": 0.4, "p": "abc"}}


# -- key ------------------------------------------------------------------------------------------

def test_key_json_reproduces_the_worked_example(spec_set: Path, capsys: Any, monkeypatch: Any) -> None:
    code, out, _ = run_cli(capsys, monkeypatch, "key", str(spec_set), "--format", "json", "--all")
    assert code == 0
    key = json.loads(out)
    assert key["problem_set"] == "dl-hw2" and key["student"] is None
    q1 = key["problems"][0]
    assert q1["id"] == "q1" and q1["kind"] == "network"
    values = {q["quantity"]: q["value"] for q in q1["quantities"]}
    for name, expected in SPEC_VALUES.items():
        assert values[name] == pytest.approx(expected, rel=5e-6), name  # six significant figures


def test_key_text_is_one_aligned_line_per_quantity(spec_set: Path, capsys: Any, monkeypatch: Any) -> None:
    code, out, _ = run_cli(capsys, monkeypatch, "key", str(spec_set), "--problem", "q1")
    assert code == 0
    lines = out.splitlines()
    rows = [line for line in lines if line.startswith("  ") and not line.strip().startswith("values:")]
    assert [r.split()[0] for r in rows] == SPEC_Q1["ask"]
    columns = {len(r) - len(r.lstrip()) + r.strip().index(r.split()[1]) for r in rows}
    assert len(columns) == 1, "values start in one column"
    assert "-0.119003" in out and "q9" not in out


def test_key_problem_selects_one_problem(spec_set: Path, capsys: Any, monkeypatch: Any) -> None:
    code, out, _ = run_cli(capsys, monkeypatch, "key", str(spec_set), "--problem", "q9", "--format", "json")
    assert code == 0
    assert [p["id"] for p in json.loads(out)["problems"]] == ["q9"]


def test_key_unknown_problem_fails_with_the_choices(spec_set: Path, capsys: Any, monkeypatch: Any) -> None:
    code, out, err = run_cli(capsys, monkeypatch, "key", str(spec_set), "--problem", "q7")
    assert code != 0 and out == ""
    assert "q7" in err and "q1" in err and "q9" in err


def test_key_all_lists_every_quantity(spec_set: Path, capsys: Any, monkeypatch: Any) -> None:
    _, asked, _ = run_cli(capsys, monkeypatch, "key", str(spec_set), "--format", "json")
    _, every, _ = run_cli(capsys, monkeypatch, "key", str(spec_set), "--format", "json", "--all")
    n_asked = len(json.loads(asked)["problems"][0]["quantities"])
    names = [q["quantity"] for q in json.loads(every)["problems"][0]["quantities"]]
    assert n_asked == len(SPEC_Q1["ask"])
    assert {"dL/dw2", "dL/dh1", "next.b2", "next.h2", "x1"} <= set(names)
    assert len(names) == len(set(names)) > n_asked


# -- check ----------------------------------------------------------------------------------------

def test_check_json_has_the_spec_shape(spec_set: Path, tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    code, out, _ = run_cli(capsys, monkeypatch, "check", str(spec_set), str(answers(tmp_path, SLIPS)),
                           "--format", "json")
    assert code == 0
    result = json.loads(out)
    assert {"problem_set", "student", "score", "max_score", "problems"} <= set(result)
    assert (result["problem_set"], result["student"]) == ("dl-hw2", "s123")
    assert [p["id"] for p in result["problems"]] == ["q1", "q9"]
    total = 0.0
    for problem in result["problems"]:
        assert {"id", "score", "max_score", "parts"} <= set(problem)
        for part in problem["parts"]:
            assert {"quantity", "submitted", "expected", "verdict", "credit", "misconception", "feedback"} <= set(part)
            assert part["verdict"] in VERDICTS
            assert isinstance(part["feedback"], str) and part["feedback"]
        total += problem["score"]
    assert result["score"] == pytest.approx(total)
    parts = {p["quantity"]: p for p in result["problems"][0]["parts"]}
    assert parts["dL/dw1"] == {**parts["dL/dw1"], "submitted": -0.119, "expected": -0.119003, "verdict": "correct",
                               "credit": 1.0, "misconception": None}
    assert parts["z1"]["verdict"] == "incorrect" and parts["z1"]["misconception"] == "bias_omitted"
    assert parts["h1"]["verdict"] == "follow_through"
    assert parts["p"]["verdict"] == "invalid"
    assert parts["L"]["verdict"] == "missing"


def test_check_text_is_aligned_and_easy_to_scan(spec_set: Path, tmp_path: Path, capsys: Any,
                                                monkeypatch: Any) -> None:
    code, out, _ = run_cli(capsys, monkeypatch, "check", str(spec_set), str(answers(tmp_path, SLIPS)))
    assert code == 0
    assert "\033[" not in out  # no colour when not writing to a terminal
    lines = out.splitlines()
    assert lines[0].startswith("dl-hw2") and "s123" in lines[0] and "score" in lines[0]
    rows = {}
    start = next(i for i, line in enumerate(lines) if line.startswith("q1 "))
    end = lines.index("", start)
    for line in lines[start + 1:end]:
        words = line.split()
        if len(words) > 1 and words[1] in SPEC_Q1["ask"]:
            rows[words[1]] = line
    assert set(rows) == set(SPEC_Q1["ask"])
    labels = {"correct", "follow-through", "incorrect", "missing", "invalid"}
    starts = set()
    for line in rows.values():
        label = next(w for w in line.split() if w in labels)
        starts.add(line.index(f" {label} ") + 1)
    assert len(starts) == 1, "verdicts start in one column"
    assert "bias_omitted" in rows["z1"]
    assert "follow-through" in rows["h1"]


def test_check_exits_0_whatever_the_score(spec_set: Path, tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    code, out, _ = run_cli(capsys, monkeypatch, "check", str(spec_set), str(answers(tmp_path, {})), "--format",
                           "json")
    assert code == 0
    assert json.loads(out)["score"] == 0


# -- broken input: non-zero, with a clear message ---------------------------------------------------

def broken_set(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    text = make_network_set({**SPEC_Q1, "forward": {**SPEC_Q1["forward"], "z3": "w5*h1 + w6*h2 + bb3"}})
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [["key"], ["validate"], ["check", "ANSWERS"]])
def test_a_broken_problem_set_fails_clearly(command: list[str], tmp_path: Path, capsys: Any,
                                            monkeypatch: Any) -> None:
    path = broken_set(tmp_path)
    argv = [command[0], str(path), *(str(answers(tmp_path, {})) for _ in command[1:])]
    code, out, err = run_cli(capsys, monkeypatch, *argv)
    assert code != 0 and out == ""
    assert err.startswith("grader: ") and str(path) in err
    assert "unknown name 'bb3'" in err and "did you mean b3?" in err and "q1" in err and "forward.z3" in err


@pytest.mark.parametrize(("text", "fragment"), [
    ("problem_set: dl-hw2\nstudent: s 1\nanswers: {}\n", "student must be"),
    ("problem_set: dl-hw2\nstudent: s1\nanswers: [1, 2]\n", "answers must map problem ids"),
    ("problem_set: dl-hw2\nstudent: s1\nanswers: {q1: {z1: 1.2\n", "not valid YAML"),
    ("problem_set: other-set\nstudent: s1\nanswers: {}\n", "other-set"),
])
def test_a_broken_answers_file_fails_clearly(text: str, fragment: str, spec_set: Path, tmp_path: Path, capsys: Any,
                                             monkeypatch: Any) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_cli(capsys, monkeypatch, "check", str(spec_set), str(path))
    assert code != 0 and out == ""
    assert err.startswith("grader: ") and fragment in err and str(path) in err


@pytest.mark.parametrize("which", ["set", "answers"])
def test_a_missing_file_fails_clearly(which: str, spec_set: Path, tmp_path: Path, capsys: Any,
                                      monkeypatch: Any) -> None:
    missing = tmp_path / "nowhere.yaml"
    argv = ["check", str(missing), str(answers(tmp_path, {}))] if which == "set" else [
        "check", str(spec_set), str(missing)]
    code, _, err = run_cli(capsys, monkeypatch, *argv)
    assert code != 0
    assert "nowhere.yaml" in err and "cannot read" in err


# -- validate -------------------------------------------------------------------------------------

def test_validate_reports_ok_and_warnings(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    path = tmp_path / "warn.yaml"
    path.write_text(make_network_set({**SPEC_Q1, "params": {**SPEC_Q1["params"], "w9": 1.0}}), encoding="utf-8")
    code, out, err = run_cli(capsys, monkeypatch, "validate", str(path))
    assert code == 0
    assert "ok" in out and "1 problem," in out and "14 points" in out
    assert "warning:" in err and "w9" in err


@pytest.mark.parametrize("path", sorted(p for p in PROBLEMS.glob("*.yaml") if not p.name.endswith(".answers.yaml")),
                         ids=lambda p: p.name)
def test_validate_the_examples(path: Path, capsys: Any, monkeypatch: Any) -> None:
    code, out, err = run_cli(capsys, monkeypatch, "validate", str(path))
    assert code == 0, err
    assert "ok" in out


# -- the real command ------------------------------------------------------------------------------

def command() -> list[str]:
    found = shutil.which("grader")
    return [found] if found else [sys.executable, "-m", "grader.cli"]


def test_the_installed_command_grades_an_example() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([*command(), "check", "problems/sparse-net.yaml", "problems/sparse-net.answers.yaml",
                           "--format", "json"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["problem_set"] == "sparse-net" and result["student"] == "s202"


def test_the_installed_command_fails_on_a_broken_set(tmp_path: Path) -> None:
    path = broken_set(tmp_path)
    done = subprocess.run([*command(), "key", str(path)], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          check=False)
    assert done.returncode != 0
    assert done.stdout == ""
    assert "unknown name 'bb3'" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_command_is_a_usage_error(capsys: Any) -> None:
    with pytest.raises(SystemExit) as info:
        main(["grade-everything"])
    assert info.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_main_writes_to_the_current_stdout(spec_set: Path) -> None:
    """``main`` called in-process (by a test, a service, a notebook) prints where ``sys.stdout`` points now."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["key", str(spec_set), "--problem", "q9", "--format", "json"])
    assert code == 0
    assert json.loads(buffer.getvalue())["problems"][0]["id"] == "q9"
