"""Turning stored rows into the API's models."""

from __future__ import annotations

from sqlalchemy.orm import Session

from grader.service.models import Grade, ProblemSet, RegradeJob, Role, SetVersion, Submission, User
from grader.service.store.sets import current_version, versions

from .schemas import GradeOut, JobOut, ProblemOut, SetOut, SubmissionOut, VersionOut


def set_out(session: Session, problem_set: ProblemSet, user: User) -> SetOut:
    version = current_version(session, problem_set=problem_set)
    out = SetOut(id=problem_set.name, title=version.title, version=version.number, max_score=version.max_score,
                 problems=[ProblemOut(**p) for p in version.problems])
    if user.role is Role.INSTRUCTOR:
        out.owner = user.name
        out.versions = [VersionOut(number=v.number, title=v.title, sha256=v.sha256, max_score=v.max_score,
                                   warnings=v.warnings, created_at=v.created_at)
                        for v in versions(session, problem_set=problem_set)]
    return out


def status(grade: Grade | None) -> str:
    if grade is None:
        return "queued"
    return "failed" if grade.error else "graded"


def grade_out(session: Session, grade: Grade, current: SetVersion) -> GradeOut:
    number = current.number if grade.set_version_id == current.id else _number(session, grade.set_version_id)
    return GradeOut(version=number, current=grade.set_version_id == current.id, score=grade.score,
                    max_score=grade.max_score, error=grade.error, graded_at=grade.graded_at, result=grade.result)


def _number(session: Session, version_id: int) -> int:
    version = session.get(SetVersion, version_id)
    return version.number if version else 0


def submission_out(session: Session, submission: Submission, problem_set: ProblemSet, student: User,
                   grade: Grade | None, current: SetVersion, *, answers: bool = True) -> SubmissionOut:
    return SubmissionOut(
        id=submission.id, problem_set=problem_set.name, student=student.name, submitted_at=submission.created_at,
        version=_number(session, submission.set_version_id), status=status(grade),  # type: ignore[arg-type]
        grade=None if grade is None else grade_out(session, grade, current),
        answers=submission.answers if answers else None)


def job_out(job: RegradeJob, problem_set: ProblemSet, version_number: int) -> JobOut:
    return JobOut(id=job.id, problem_set=problem_set.name, version=version_number, mode=job.mode,  # type: ignore[arg-type]
                  total=job.total, done=job.done, failed=job.failed, pending=job.pending,
                  finished=job.finished_at is not None, created_at=job.created_at, finished_at=job.finished_at)
