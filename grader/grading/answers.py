"""Read an answers file (SPEC section 3): YAML or JSON, never executed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.problemset.reader import ANSWERS_LIMITS
from grader.problemset.source import AnswersError, read_document, read_text_file

_STUDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


@dataclass
class Answers:
    problem_set: str
    student: str
    answers: dict[str, Any]  # problem id -> a mapping of quantity -> value, or a formula text
    file: str = ""
    lines: dict[str, int] = field(default_factory=dict)  # problem id -> line


def read_answers(text: str, file: str = "<answers>") -> Answers:
    """Parse an answers file. Structural problems raise ``AnswersError``; bad values are graded invalid."""
    doc = read_document(text, file, AnswersError, ANSWERS_LIMITS)
    data = doc.data
    if not isinstance(data, dict):
        raise AnswersError("an answers file must be a mapping with problem_set, student and answers",
                           file=file, line=doc.line(()))
    unknown = sorted(set(data) - {"problem_set", "student", "answers"})
    if unknown:
        raise AnswersError(f"unknown key {unknown[0]!r} (expected problem_set, student, answers)", file=file,
                           line=doc.line((unknown[0],)))
    for key in ("problem_set", "student"):
        value = data.get(key)
        if value is None:
            raise AnswersError(f"{key} is missing", file=file, field=key, line=doc.line(()))
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise AnswersError(f"{key} must be a name, not {type(value).__name__}", file=file, field=key,
                               line=doc.line((key,)))
    student = str(data["student"])
    if not _STUDENT.match(student):
        raise AnswersError("student must be 1-128 letters, digits or ._@+- characters", file=file,
                           field="student", line=doc.line(("student",)))
    answers = data.get("answers")
    if answers is None:
        answers = {}
    if not isinstance(answers, dict):
        raise AnswersError("answers must map problem ids to answers", file=file, field="answers",
                           line=doc.line(("answers",)))
    lines = {str(k): doc.line(("answers", k)) or 0 for k in answers}
    return Answers(str(data["problem_set"]), student, {str(k): v for k, v in answers.items()}, file, lines)


def read_answers_file(path: str | Path) -> Answers:
    return read_answers(read_text_file(path, AnswersError, ANSWERS_LIMITS), str(path))
