"""Reading answers files: structural errors say what and where; values are data, never executed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.grading.answers import read_answers, read_answers_file
from grader.problemset.source import AnswersError

ANY: Any = object()

# (case, text, message fragment, field, line)
BROKEN: list[tuple[str, str, str, Any, Any]] = [
    ("not a mapping", "- 1\n- 2\n", "must be a mapping", ANY, 1),
    ("unknown key", "problem_set: a\nstudent: s\nanswers: {}\nextra: 1\n", "unknown key 'extra'", ANY, 4),
    ("no problem_set", "student: s\nanswers: {}\n", "problem_set is missing", "problem_set", ANY),
    ("no student", "problem_set: a\nanswers: {}\n", "student is missing", "student", ANY),
    ("student a list", "problem_set: a\nstudent: [1]\nanswers: {}\n", "student must be a name", "student", 2),
    ("student a bool", "problem_set: a\nstudent: true\nanswers: {}\n", "student must be a name", "student", 2),
    ("problem_set a mapping", "problem_set: {a: 1}\nstudent: s\nanswers: {}\n", "problem_set must be a name",
     "problem_set", 1),
    ("student with a space", "problem_set: a\nstudent: s 1\nanswers: {}\n", "student must be", "student", 2),
    ("student too long", "problem_set: a\nstudent: " + "s" * 129 + "\nanswers: {}\n", "student must be", "student",
     2),
    ("answers a list", "problem_set: a\nstudent: s\nanswers: [1, 2]\n", "answers must map problem ids", "answers", 3),
    ("answers a number", "problem_set: a\nstudent: s\nanswers: 3\n", "answers must map problem ids", "answers", 3),
    ("invalid YAML", "problem_set: a\nstudent: s\nanswers:\n  q1: {z1: 1\n  q2: 3\n", "not valid YAML", ANY, ANY),
    ("bad indentation", "problem_set: a\nstudent: s\nanswers:\n  q1:\n    z1: 1\n   z2: 2\n", "not valid YAML", ANY,
     6),
    ("empty file", "", "empty", ANY, None),
    ("duplicate problem", "problem_set: a\nstudent: s\nanswers:\n  q1: {z1: 1}\n  q1: {z1: 2}\n",
     '"q1" appears twice', ANY, 5),
    ("duplicate quantity", "problem_set: a\nstudent: s\nanswers:\n  q1: {z1: 1, z1: 2}\n", '"z1" appears twice', ANY,
     4),
    ("too large", "problem_set: a\nstudent: s\nanswers: {q1: '" + "x" * 2_000_001 + "'}\n", "too large", ANY, ANY),
]


@pytest.mark.parametrize(("text", "fragment", "field", "line"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_answers_files(text: str, fragment: str, field: Any, line: Any) -> None:
    with pytest.raises(AnswersError) as info:
        read_answers(text, "a.yaml")
    error = info.value
    assert fragment in error.message
    assert error.file == "a.yaml"
    assert str(error).startswith("a.yaml")
    if field is not ANY:
        assert error.field == field
    if line is not ANY:
        assert error.line == line


def test_a_valid_file() -> None:
    text = 'problem_set: dl-hw2\nstudent: s123\nanswers:\n  q1: {z1: 1.2, "dL/dw1": -0.119}\n  q2: "sigma(x)"\n'
    answers = read_answers(text, "a.yaml")
    assert (answers.problem_set, answers.student, answers.file) == ("dl-hw2", "s123", "a.yaml")
    assert answers.answers == {"q1": {"z1": 1.2, "dL/dw1": -0.119}, "q2": "sigma(x)"}
    assert answers.lines == {"q1": 4, "q2": 5}


def test_json_is_accepted() -> None:
    answers = read_answers('{"problem_set": "a", "student": "s", "answers": {"q1": {"z1": 1}}}')
    assert answers.answers == {"q1": {"z1": 1}}


@pytest.mark.parametrize(("raw", "student"), [("123", "123"), ("s.1@uni.edu", "s.1@uni.edu"), ("a+b-c_d", "a+b-c_d")])
def test_student_ids(raw: str, student: str) -> None:
    assert read_answers(f"problem_set: a\nstudent: {raw}\nanswers: {{}}\n").student == student


def test_no_answers_is_an_empty_submission() -> None:
    assert read_answers("problem_set: a\nstudent: s\nanswers:\n").answers == {}
    assert read_answers("problem_set: a\nstudent: s\n").answers == {}


def test_problem_ids_are_text() -> None:
    assert read_answers("problem_set: a\nstudent: s\nanswers: {1: {z: 1}}\n").answers == {"1": {"z": 1}}


@pytest.mark.parametrize("tagged", ["!!python/object/apply:os.system [echo hacked]",
                                    "!!python/name:os.system", "!!python/object:os.PathLike {}"])
def test_yaml_tags_are_never_constructed(tagged: str) -> None:
    text = f"problem_set: a\nstudent: s\nanswers:\n  q1: {tagged}\n"
    try:
        answers = read_answers(text)
    except AnswersError:
        return
    value = answers.answers["q1"]
    assert isinstance(value, str | int | float | list | dict) and not callable(value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AnswersError) as info:
        read_answers_file(tmp_path / "nope.yaml")
    assert "cannot read the file" in info.value.message


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("problem_set: a\nstudent: s\nanswers: {q1: {z1: 'caf\xe9'}}\n".encode("latin-1"))
    with pytest.raises(AnswersError) as info:
        read_answers_file(path)
    assert "cannot read the file" in info.value.message


def test_a_file_on_disk_names_its_path(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("problem_set: a\nstudent: s 1\nanswers: {}\n", encoding="utf-8")
    with pytest.raises(AnswersError) as info:
        read_answers_file(path)
    assert str(info.value).startswith(f"{path}:2: ")
