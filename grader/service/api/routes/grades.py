"""A set's grades: one row per student (their newest submission), as JSON or a gradebook CSV."""

from __future__ import annotations

from fastapi import APIRouter, Response

from grader.service.export import grade_rows, grades_csv
from grader.service.store.sets import owned_set
from grader.service.text import utf8

from ..deps import Instructor, SessionDep
from ..schemas import GradeRowOut, GradesOut, ProblemOut

router = APIRouter(prefix="/sets/{set_id}", tags=["grades"])


@router.get("/grades", response_model=GradesOut)
def read_grades(set_id: str, session: SessionDep, user: Instructor) -> GradesOut:
    problem_set = owned_set(session, user=user, name=set_id)
    problems, rows = grade_rows(session, problem_set=problem_set)
    return GradesOut(problem_set=set_id, problems=[ProblemOut(**p) for p in problems],
                     rows=[GradeRowOut(student=r.student, submission=r.submission_id, version=r.version,
                                       scores=r.scores, total=r.total, error=r.error) for r in rows])


@router.get("/grades.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "Canvas/Moodle gradebook CSV"}})
def download_grades(set_id: str, session: SessionDep, user: Instructor) -> Response:
    """One row per student, one column per problem and the total; Canvas and Moodle import it."""
    problem_set = owned_set(session, user=user, name=set_id)
    return Response(utf8(grades_csv(session, problem_set=problem_set)), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{set_id}-grades.csv"'})
