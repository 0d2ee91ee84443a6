"""Enrolment: which students a set is for."""

from __future__ import annotations

from fastapi import APIRouter, status

from grader.service.errors import NotFound
from grader.service.store.sets import enrol_names, enrolled, owned_set, unenrol
from grader.service.store.users import get_user

from ..deps import Instructor, SessionDep
from ..schemas import EnrolmentOut, StudentsIn, StudentsOut

router = APIRouter(prefix="/sets/{set_id}/students", tags=["enrolment"])


@router.get("", response_model=StudentsOut)
def list_students(set_id: str, session: SessionDep, user: Instructor) -> StudentsOut:
    problem_set = owned_set(session, user=user, name=set_id)
    return StudentsOut(students=[u.name for u in enrolled(session, problem_set=problem_set)])


@router.post("", response_model=StudentsOut)
def add_students(set_id: str, body: StudentsIn, session: SessionDep, user: Instructor) -> StudentsOut:
    """Enrol students by user name (matched without regard to case); ``results`` says per name what happened.

    Names that are students are enrolled even when others in the list are unknown or instructors.
    """
    problem_set = owned_set(session, user=user, name=set_id)
    outcomes = enrol_names(session, problem_set=problem_set, names=body.students)
    session.commit()
    return StudentsOut(added=sum(o.outcome == "enrolled" for o in outcomes),
                       students=[u.name for u in enrolled(session, problem_set=problem_set)],
                       results=[EnrolmentOut(name=o.name, outcome=o.outcome, detail=o.detail)
                                for o in outcomes])


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_student(set_id: str, name: str, session: SessionDep, user: Instructor) -> None:
    """Unenrol a student; their submissions and grades stay."""
    problem_set = owned_set(session, user=user, name=set_id)
    student = get_user(session, name=name)
    if student is None:
        raise NotFound(f"no user {name!r}")
    unenrol(session, problem_set=problem_set, student=student)
    session.commit()
