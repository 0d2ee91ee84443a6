"""Submissions (stored as received, never modified) and their grades."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from grader.grading.answers import Answers, read_answers
from grader.service.db import utcnow
from grader.service.errors import Forbidden, Invalid, NotFound, TooLarge, TooManyRequests
from grader.service.models import Enrolment, Grade, ProblemSet, Role, SetVersion, Submission, User
from grader.service.settings import DEFAULT_MAX_ANSWERS_BYTES
from grader.service.store.sets import current_version, is_enrolled
from grader.service.store.users import name_key
from grader.service.text import find_unencodable, joined_pairs, json_size

HOUR = timedelta(hours=1)


def create_submission(session: Session, *, problem_set: ProblemSet, student: User, text: str,
                      file: str = "<answers>", default_per_hour: int = 0,
                      max_bytes: int = DEFAULT_MAX_ANSWERS_BYTES) -> Submission:
    """Check an answers file against the set and store it exactly as received.

    A file that cannot be read raises ``AnswersError``; one for another set or student, or naming problems
    the set does not have, raises ``Invalid``/``Forbidden``; a student past the set's hourly limit
    (``problem_sets.submissions_per_hour``, else ``default_per_hour``; 0 is no limit) gets
    ``TooManyRequests``; answers that read as more than ``max_bytes`` of JSON (``GRADER_MAX_ANSWERS_BYTES``)
    raise ``TooLarge``. Nothing is stored then.
    """
    if student.role is not Role.STUDENT:
        raise Forbidden("only students submit answers")
    if not is_enrolled(session, problem_set=problem_set, user=student):
        raise Forbidden(f"you are not enrolled in problem set {problem_set.name!r}")
    limit = hourly_limit(problem_set, default_per_hour)
    if limit:
        check_hourly_limit(session, problem_set=problem_set, student=student, limit=limit)
    answers = read_answers(text, file)
    if answers.problem_set != problem_set.name:
        raise Invalid(f"the answers are for problem set {answers.problem_set!r}, not {problem_set.name!r}",
                      file=file, field="problem_set")
    if name_key(answers.student) != student.name_key:  # user names are matched without regard to case
        raise Forbidden(f"the answers are signed by student {answers.student!r}, but you are {student.name!r}",
                        file=file, field="student")
    version = current_version(session, problem_set=problem_set)
    known = [p["id"] for p in version.problems]
    unknown = [pid for pid in answers.answers if pid not in known]
    if unknown:
        raise Invalid(f"problem set {problem_set.name!r} has no problem {unknown[0]!r} (it has {', '.join(known)})",
                      file=file, field=f"answers.{unknown[0]}", line=answers.lines.get(unknown[0]))
    answers = replace(answers, answers=joined_pairs(answers.answers))
    check_storable(answers, text, max_bytes)
    submission = Submission(problem_set_id=problem_set.id, student_id=student.id, set_version_id=version.id,
                            answers=text, parsed=parsed_form(answers))
    session.add(submission)
    session.flush()
    return submission


def hourly_limit(problem_set: ProblemSet, default: int) -> int:
    """Submissions one student may make to this set in any hour: the set's own number, else the default."""
    return default if problem_set.submissions_per_hour is None else problem_set.submissions_per_hour


def check_hourly_limit(session: Session, *, problem_set: ProblemSet, student: User, limit: int,
                       now: datetime | None = None) -> None:
    """Raise ``TooManyRequests`` (with the seconds until one is free) if the student has used up the hour.

    The count comes from the stored submissions, so it holds across API processes. The student's
    enrolment row is written first (to itself): that takes its row lock on PostgreSQL and the write lock
    on SQLite until the transaction ends, so two requests of one student are counted one after the other.
    """
    session.execute(update(Enrolment).where(Enrolment.problem_set_id == problem_set.id,
                                            Enrolment.user_id == student.id)
                    .values(user_id=Enrolment.user_id).execution_options(synchronize_session=False))
    now = now or utcnow()
    since = now - HOUR
    recent = list(session.scalars(
        select(Submission.created_at).where(Submission.problem_set_id == problem_set.id,
                                            Submission.student_id == student.id, Submission.created_at > since)
        .order_by(Submission.created_at.desc()).limit(limit)))
    if len(recent) < limit:
        return
    free_at = recent[-1] + HOUR  # the oldest of the last ``limit`` leaves the hour then
    wait = max(1, math.ceil((free_at - now).total_seconds()))
    raise TooManyRequests(f"at most {limit} submissions an hour to problem set {problem_set.name!r}; the next one "
                          f"is possible in {_duration(wait)}", retry_after=wait)


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def check_storable(answers: Answers, text: str, max_bytes: int) -> None:
    """Refuse answers that hold text no database can store, or that read as more than ``max_bytes`` of JSON.

    The size is that of the answers as read, whatever produced them: a few hundred bytes of YAML aliases
    can read as megabytes, which would be stored, graded and shown on every page that lists them.
    """
    found = find_unencodable(answers.answers, "answers")
    if found is not None:
        top = found.path.split(".")[1] if "." in found.path else None
        raise Invalid(found.describe(), file=answers.file, field=found.path,
                      line=answers.lines.get(top) if top else None)
    size = json_size({"answers": answers.answers, "lines": answers.lines})
    if size > max_bytes:
        raise TooLarge(f"the answers read as {size:,} bytes (the file has {len(text.encode('utf-8')):,}), more than "
                       f"the {max_bytes:,} one submission may store; nothing was stored. Write each answer once "
                       "(YAML aliases repeat what they point to) and keep answers short", file=answers.file,
                       field="answers")


def parsed_form(answers: Answers) -> dict[str, Any] | None:
    """The read answers as JSON, if JSON keeps every value as it is (no dates, no NaN)."""
    form = {"problem_set": answers.problem_set, "student": answers.student, "answers": answers.answers,
            "lines": answers.lines}
    try:
        same = json.loads(json.dumps(form, allow_nan=False)) == form
    except (TypeError, ValueError):
        return None
    return form if same else None


@dataclass
class SubmissionView:
    submission: Submission
    problem_set: ProblemSet
    student: User
    grade: Grade | None  # against the set's current version, else the latest version graded
    current_version: SetVersion


def visible_submission(session: Session, *, user: User, submission_id: int) -> SubmissionView:
    """A submission its student, or its set's instructor, may read."""
    row = session.execute(select(Submission, ProblemSet, User).join(ProblemSet, ProblemSet.id ==
                          Submission.problem_set_id).join(User, User.id == Submission.student_id)
                          .where(Submission.id == submission_id)).first()
    if row is None:
        raise NotFound(f"no submission {submission_id}")
    submission, problem_set, student = row
    if user.role is Role.STUDENT and student.id != user.id:
        raise Forbidden(f"submission {submission_id} is another student's")
    if user.role is Role.INSTRUCTOR and problem_set.owner_id != user.id:
        raise Forbidden(f"submission {submission_id} is for another instructor's set")
    version = current_version(session, problem_set=problem_set)
    return SubmissionView(submission, problem_set, student, best_grade(session, submission=submission), version)


def best_grade(session: Session, *, submission: Submission) -> Grade | None:
    """The grade against the newest version that has graded this submission."""
    return session.scalar(select(Grade).join(SetVersion, SetVersion.id == Grade.set_version_id)
                          .where(Grade.submission_id == submission.id).order_by(SetVersion.number.desc()).limit(1))


def list_submissions(session: Session, *, problem_set: ProblemSet, student: User | None = None, limit: int = 100,
                     offset: int = 0) -> list[tuple[Submission, str]]:
    """Submissions to a set, newest first, each with its student's name."""
    query = (select(Submission, User.name).join(User, User.id == Submission.student_id)
             .where(Submission.problem_set_id == problem_set.id))
    if student is not None:
        query = query.where(Submission.student_id == student.id)
    query = query.order_by(Submission.id.desc()).limit(limit).offset(offset)
    return [(s, name) for s, name in session.execute(query)]


def grades_by_submission(session: Session, *, submission_ids: list[int]) -> dict[int, Grade]:
    """For each submission, its grade against the newest version that graded it."""
    if not submission_ids:
        return {}
    rows = session.execute(select(Grade, SetVersion.number).join(SetVersion, SetVersion.id == Grade.set_version_id)
                           .where(Grade.submission_id.in_(submission_ids)))
    best: dict[int, tuple[int, Grade]] = {}
    for grade, number in rows:
        if grade.submission_id not in best or number > best[grade.submission_id][0]:
            best[grade.submission_id] = (number, grade)
    return {sid: grade for sid, (_, grade) in best.items()}


def latest_submissions(session: Session, *, problem_set: ProblemSet) -> dict[int, Submission]:
    """Each student's newest submission to the set, by student id."""
    newest = (select(func.max(Submission.id)).where(Submission.problem_set_id == problem_set.id)
              .group_by(Submission.student_id))
    return {s.student_id: s for s in session.scalars(select(Submission).where(Submission.id.in_(newest)))}
