"""Enrolment: which students a set is for."""

from __future__ import annotations

from fastapi import APIRouter, status

from grader.service.errors import Invalid, NotFound
from grader.service.store.sets import enrol, enrolled, owned_set, unenrol
from grader.service.store.users import get_user, users_by_name

from ..deps import Instructor, SessionDep
from ..schemas import StudentsIn, StudentsOut

router = APIRouter(prefix="/sets/{set_id}/students", tags=["enrolment"])


@router.get("", response_model=StudentsOut)
def list_students(set_id: str, session: SessionDep, user: Instructor) -> StudentsOut:
    problem_set = owned_set(session, user=user, name=set_id)
    return StudentsOut(students=[u.name for u in enrolled(session, problem_set=problem_set)])


@router.post("", response_model=StudentsOut)
def add_students(set_id: str, body: StudentsIn, session: SessionDep, user: Instructor) -> StudentsOut:
    """Enrol students by user name (all or none: an unknown name changes nothing)."""
    problem_set = owned_set(session, user=user, name=set_id)
    found = users_by_name(session, names=body.students)
    unknown = [n for n in body.students if n not in found]
    if unknown:
        raise Invalid(f"no user {unknown[0]!r}" + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""),
                      field="students", unknown=unknown)
    added = enrol(session, problem_set=problem_set, students=[found[n] for n in dict.fromkeys(body.students)])
    session.commit()
    return StudentsOut(added=added, students=[u.name for u in enrolled(session, problem_set=problem_set)])


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_student(set_id: str, name: str, session: SessionDep, user: Instructor) -> None:
    """Unenrol a student; their submissions and grades stay."""
    problem_set = owned_set(session, user=user, name=set_id)
    student = get_user(session, name=name)
    if student is None:
        raise NotFound(f"no user {name!r}")
    unenrol(session, problem_set=problem_set, student=student)
    session.commit()
