"""Submissions: students submit answers files and read their grades and feedback."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from grader.service.errors import Forbidden, NotFound
from grader.service.models import Role
from grader.service.store.reports import student_view
from grader.service.store.sets import current_version, visible_set
from grader.service.store.submissions import (
    create_submission,
    grades_by_submission,
    list_submissions,
    visible_submission,
)
from grader.service.store.users import get_user

from ..deps import FILE_BODY, MAX_DB_INT, BodyText, CurrentUser, ServiceDep, SessionDep, Student, SubmissionId
from ..errors import error_responses
from ..present import status as grade_status
from ..present import submission_out
from ..schemas import SubmissionOut, SubmissionSummary

router = APIRouter(tags=["submissions"])


@router.post("/sets/{set_id}/submissions", response_model=SubmissionOut, status_code=status.HTTP_202_ACCEPTED,
             openapi_extra=FILE_BODY, responses=error_responses(429))
def submit(set_id: str, session: SessionDep, user: Student, text: BodyText, service: ServiceDep,
           response: Response) -> SubmissionOut:
    """Submit an answers file (SPEC section 3) as the body. It is stored, then graded; poll its URL for the grade.

    A student may submit at most the set's ``submissions_per_hour`` files in any hour, and each user's
    requests are rate limited; past either the answer is 429 with ``Retry-After``.
    """
    problem_set = visible_set(session, user=user, name=set_id)
    service.limiter.take("submit", user.id)
    submission = create_submission(session, problem_set=problem_set, student=user, text=text,
                                   file="answers", default_per_hour=service.settings.submissions_per_hour,
                                   max_bytes=service.settings.max_answers_bytes)
    session.commit()  # stored before it is queued: if queuing fails, the sweep queues it
    service.dispatcher.grade(submission.id, submission.set_version_id)
    response.headers["Location"] = f"/api/v1/submissions/{submission.id}"
    current = current_version(session, problem_set=problem_set)
    return submission_out(session, submission, problem_set, user, None, current)


@router.get("/sets/{set_id}/submissions", response_model=list[SubmissionSummary])
def list_set_submissions(set_id: str, session: SessionDep, user: CurrentUser,
                         student: str | None = Query(default=None, description="instructors: only this student"),
                         limit: int = Query(default=100, ge=1, le=1000),
                         offset: int = Query(default=0, ge=0, le=MAX_DB_INT)) \
        -> list[SubmissionSummary]:
    """A student's own submissions, or (instructors) everyone's; newest first."""
    problem_set = visible_set(session, user=user, name=set_id)
    who = None
    if user.role is Role.STUDENT:
        if student not in (None, user.name):
            raise Forbidden("students see only their own submissions")
        who = user
    elif student is not None:
        who = get_user(session, name=student)
        if who is None:
            raise NotFound(f"no user {student!r}")
    rows = list_submissions(session, problem_set=problem_set, student=who, limit=limit, offset=offset)
    grades = grades_by_submission(session, submission_ids=[s.id for s, _ in rows])
    out = []
    for submission, name in rows:
        grade = grades.get(submission.id)
        out.append(SubmissionSummary(id=submission.id, student=name, submitted_at=submission.created_at,
                                     status=grade_status(grade),  # type: ignore[arg-type]
                                     score=grade.score if grade else None,
                                     max_score=grade.max_score if grade else None))
    return out


@router.get("/submissions/{submission_id}", response_model=SubmissionOut)
def read_submission(submission_id: SubmissionId, session: SessionDep, user: CurrentUser) -> SubmissionOut:
    """A submission with its grade and feedback (against the newest version that graded it)."""
    view = visible_submission(session, user=user, submission_id=submission_id)
    out = submission_out(session, view.submission, view.problem_set, view.student, view.grade,
                         view.current_version)
    if out.grade is not None and user.role is Role.STUDENT:
        # expected values and feedback that would pin them down stay hidden until the instructor allows
        out.grade.result = student_view(out.grade.result, reveal=view.problem_set.show_expected)
    return out
