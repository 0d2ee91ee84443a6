"""Builders for the worker tests: a set with students and stored submissions, straight through the store."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from grader.service.models import Grade, ProblemSet, Role, SetVersion, Submission, User
from grader.service.store.sets import enrol, upload_set
from grader.service.store.submissions import create_submission
from grader.service.store.users import create_user
from tests.service.builders import TINY_SET, answers_text


@dataclass
class World:
    set_id: int
    version_id: int
    submission_ids: list[int]


def make_world(factory: sessionmaker[Session], students: int = 3, *, bad: int = 0) -> World:
    """The tiny set, ``students`` enrolled students with one submission each; the last ``bad`` submissions
    name another set inside (stored as data from an older check would be), so grading them fails."""
    with factory() as session:
        prof, _ = create_user(session, name="prof", role=Role.INSTRUCTOR)
        problem_set = upload_set(session, owner=prof, text=TINY_SET, file="tiny.yaml").problem_set
        users = [create_user(session, name=f"s{i}", role=Role.STUDENT)[0] for i in range(students)]
        enrol(session, problem_set=problem_set, students=users)
        ids = []
        for i, user in enumerate(users):
            submission = create_submission(session, problem_set=problem_set, student=user,
                                           text=answers_text(user.name, {"q1": {"z": 1.1 + i}}))
            if i >= students - bad:
                submission.answers = answers_text(user.name, problem_set="gone-set")
                submission.parsed = None  # read from the text when graded
            ids.append(submission.id)
        session.commit()
        version = session.scalar(select(SetVersion.id).where(SetVersion.problem_set_id == problem_set.id))
        assert version is not None
        return World(problem_set.id, version, ids)


def new_version(factory: sessionmaker[Session], text: str) -> int:
    with factory() as session:
        problem_set = session.scalar(select(ProblemSet))
        assert problem_set is not None
        owner = session.get(User, problem_set.owner_id)
        assert owner is not None
        version = upload_set(session, owner=owner, text=text, file="tiny.yaml").version
        session.commit()
        return version.id


def grades(factory: sessionmaker[Session], version_id: int) -> list[Grade]:
    with factory() as session:
        return list(session.scalars(select(Grade).where(Grade.set_version_id == version_id)
                                    .order_by(Grade.submission_id)))


def submission_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(Submission)) or 0
