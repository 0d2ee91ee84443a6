"""The grades of a set as a gradebook CSV: one row per student, one column per problem, then the total.

The first five columns are the ones Canvas's gradebook import reads (Student, ID, SIS User ID, SIS Login ID,
Section); the student's login name goes in "SIS Login ID" and "Student". Moodle's CSV import maps any column,
so the same file works there (choose "SIS Login ID" as the user identifier). A student with no graded
submission gets empty cells, which both gradebooks leave unchanged.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.service.models import Grade, ProblemSet, SetVersion, User
from grader.service.store.sets import current_version, enrolled
from grader.service.store.submissions import grades_by_submission, latest_submissions

LEAD = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


@dataclass
class GradeRow:
    student: str
    submission_id: int | None
    version: int | None
    scores: dict[str, float | None]  # problem id -> score
    total: float | None
    error: str | None


def grade_rows(session: Session, *, problem_set: ProblemSet) -> tuple[list[dict[str, Any]], list[GradeRow]]:
    """The set's current problems, and one row per enrolled or submitting student (by name)."""
    version = current_version(session, problem_set=problem_set)
    latest = latest_submissions(session, problem_set=problem_set)
    grades = grades_by_submission(session, submission_ids=[s.id for s in latest.values()])
    students: dict[int, str] = {u.id: u.name for u in enrolled(session, problem_set=problem_set)}
    missing = [sid for sid in latest if sid not in students]
    if missing:
        students.update({u.id: u.name for u in session.scalars(select(User).where(User.id.in_(missing)))})
    version_numbers = {version.id: version.number}
    rows = []
    for user_id, name in sorted(students.items(), key=lambda item: item[1]):
        submission = latest.get(user_id)
        grade = None if submission is None else grades.get(submission.id)
        rows.append(_row(name, submission.id if submission else None, grade, version.problems, version_numbers,
                         session))
    return version.problems, rows


def _row(name: str, submission_id: int | None, grade: Grade | None, problems: list[dict[str, Any]],
         numbers: dict[int, int], session: Session) -> GradeRow:
    if grade is None:
        return GradeRow(name, submission_id, None, {p["id"]: None for p in problems}, None, None)
    if grade.set_version_id not in numbers:
        version = session.get(SetVersion, grade.set_version_id)
        numbers[grade.set_version_id] = version.number if version else 0
    if grade.result is None:
        return GradeRow(name, submission_id, numbers[grade.set_version_id], {p["id"]: None for p in problems},
                        None, grade.error)
    by_id = {p["id"]: float(p["score"]) for p in grade.result.get("problems", [])}
    return GradeRow(name, submission_id, numbers[grade.set_version_id],
                    {p["id"]: by_id.get(p["id"]) for p in problems}, grade.score, None)


def grades_csv(session: Session, *, problem_set: ProblemSet) -> str:
    problems, rows = grade_rows(session, problem_set=problem_set)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*LEAD, *(f"{problem_set.name}: {p['id']}" for p in problems), f"{problem_set.name}: total"])
    for row in rows:
        writer.writerow([row.student, "", "", row.student, "",
                         *(_cell(row.scores[p["id"]]) for p in problems), _cell(row.total)])
    return out.getvalue()


def _cell(value: float | None) -> str:
    return "" if value is None else f"{round(value, 4):g}"
