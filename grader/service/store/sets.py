"""Problem sets, their versions and enrolments. A changed file makes a new version; the old ones stay."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grader.service.errors import Conflict, Forbidden, Invalid, NotFound
from grader.service.models import Enrolment, ProblemSet, Role, SetVersion, User
from grader.service.setload import LoadLimits, SetSummary, load_summary
from grader.service.store.users import find_users, name_key, suggest_name


@dataclass
class Upload:
    problem_set: ProblemSet
    version: SetVersion
    created: bool  # a new set
    changed: bool  # a new version (False: the file is the current version already)


def upload_set(session: Session, *, owner: User, text: str, file: str, expect_name: str | None = None,
               create: bool = True, update: bool = True, limits: LoadLimits | None = None,
               loaded: SetSummary | None = None) -> Upload:
    """Store a problem-set file as a new set or a new version of the owner's set.

    The file is loaded first (unless ``loaded`` is its summary already), in a child process bounded by
    ``limits`` when given (``grader.service.setload``): a broken one raises ``ProblemSetError`` (the loader's
    message), one that needs more time or memory ``SetLoadRefused``, and nothing changes.
    Two uploads of one set at the same time cannot both store it: the set's name and each version number are
    unique, and the upload that comes second is rolled back with ``Conflict`` (409).
    """
    if owner.role is not Role.INSTRUCTOR:
        raise Forbidden("only instructors upload problem sets")
    if loaded is None:
        loaded = load_summary(text, file, limits)
    if expect_name is not None and loaded.id != expect_name:
        raise Invalid(f"the file is problem set {loaded.id!r}, not {expect_name!r}", file=file, field="id")
    problem_set = get_set(session, name=loaded.id)
    created = problem_set is None
    if problem_set is None:
        if not create:
            raise NotFound(f"no problem set {loaded.id!r}")
        problem_set = ProblemSet(name=loaded.id, owner_id=owner.id)
        session.add(problem_set)
        _flush_or_conflict(session, loaded.id)
    elif problem_set.owner_id != owner.id:
        raise Forbidden(f"problem set {loaded.id!r} belongs to another instructor")
    elif not update:
        raise Conflict(f"problem set {loaded.id!r} exists already; update it with PUT /api/v1/sets/{loaded.id}")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    current = None if created else current_version(session, problem_set=problem_set)
    if current is not None and current.sha256 == digest:
        return Upload(problem_set, current, created=False, changed=False)
    version = SetVersion(
        problem_set_id=problem_set.id, number=1 if current is None else current.number + 1, title=loaded.title,
        source=text, sha256=digest, max_score=loaded.max_score, warnings=list(loaded.warnings),
        problems=[dict(p) for p in loaded.problems],
    )
    session.add(version)
    _flush_or_conflict(session, loaded.id)
    return Upload(problem_set, version, created=created, changed=True)


def _flush_or_conflict(session: Session, name: str) -> None:
    """Flush; a unique key taken meanwhile by another upload of the set rolls back and raises ``Conflict``."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"another upload of problem set {name!r} was stored at the same moment; nothing was "
                       "stored from this one: look at the set, then send the file again if it is still needed")\
            from None


def get_set(session: Session, *, name: str) -> ProblemSet | None:
    return session.scalar(select(ProblemSet).where(ProblemSet.name == name))


def current_version(session: Session, *, problem_set: ProblemSet) -> SetVersion:
    version = session.scalar(select(SetVersion).where(SetVersion.problem_set_id == problem_set.id)
                             .order_by(SetVersion.number.desc()).limit(1))
    if version is None:  # every set is created with its first version in the same transaction
        raise NotFound(f"problem set {problem_set.name!r} has no version")
    return version


def versions(session: Session, *, problem_set: ProblemSet) -> list[SetVersion]:
    return list(session.scalars(select(SetVersion).where(SetVersion.problem_set_id == problem_set.id)
                                .order_by(SetVersion.number)))


def sets_for(session: Session, *, user: User) -> list[ProblemSet]:
    """An instructor's own sets, or the sets a student is enrolled in."""
    query = select(ProblemSet).order_by(ProblemSet.name)
    if user.role is Role.INSTRUCTOR:
        query = query.where(ProblemSet.owner_id == user.id)
    else:
        query = query.join(Enrolment, Enrolment.problem_set_id == ProblemSet.id).where(Enrolment.user_id == user.id)
    return list(session.scalars(query))


def require_set(session: Session, *, name: str) -> ProblemSet:
    """The set ``name``, or ``NotFound`` saying there is none."""
    problem_set = get_set(session, name=name)
    if problem_set is None:
        raise NotFound(f"no problem set {name!r}")
    return problem_set


def visible_set(session: Session, *, user: User, name: str) -> ProblemSet:
    """The set ``name`` if ``user`` may see it: its owner, or an enrolled student."""
    problem_set = require_set(session, name=name)
    if user.role is Role.INSTRUCTOR:
        if problem_set.owner_id != user.id:
            raise Forbidden(f"problem set {name!r} belongs to another instructor")
    elif not is_enrolled(session, problem_set=problem_set, user=user):
        raise Forbidden(f"you are not enrolled in problem set {name!r}")
    return problem_set


def owned_set(session: Session, *, user: User, name: str) -> ProblemSet:
    if user.role is not Role.INSTRUCTOR:
        raise Forbidden("only the set's instructor may do this")
    return visible_set(session, user=user, name=name)


def is_enrolled(session: Session, *, problem_set: ProblemSet, user: User) -> bool:
    return session.get(Enrolment, (problem_set.id, user.id)) is not None


def enrol(session: Session, *, problem_set: ProblemSet, students: list[User]) -> int:
    """Enrol students (already enrolled ones are left as they are); return how many were new."""
    for student in students:
        if student.role is not Role.STUDENT:
            raise Invalid(f"{student.name!r} is an instructor, not a student", field="students")
    present = set(session.scalars(select(Enrolment.user_id).where(Enrolment.problem_set_id == problem_set.id)))
    new = [s for s in dict.fromkeys(students) if s.id not in present]
    session.add_all(Enrolment(problem_set_id=problem_set.id, user_id=s.id) for s in new)
    session.flush()
    return len(new)


Enrolled = Literal["enrolled", "already enrolled", "no such user", "not a student"]


@dataclass(frozen=True)
class EnrolOutcome:
    """What enrolling one name did: ``enrolled``, ``already enrolled``, ``no such user`` or ``not a student``."""

    name: str
    outcome: Enrolled
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in ("enrolled", "already enrolled")


def enrol_names(session: Session, *, problem_set: ProblemSet, names: list[str]) -> list[EnrolOutcome]:
    """Enrol every name that is a student; report per name what happened (nothing is refused as a whole)."""
    found = find_users(session, (name_key(n) for n in names))
    present = set(session.scalars(select(Enrolment.user_id).where(Enrolment.problem_set_id == problem_set.id)))
    outcomes: list[EnrolOutcome] = []
    seen: set[str] = set()
    for name in names:
        key = name_key(name)
        if key in seen:
            continue
        seen.add(key)
        user = found.get(key)
        if user is None:
            close = suggest_name(session, name)
            outcomes.append(EnrolOutcome(name, "no such user", f"did you mean {close!r}?" if close else ""))
        elif user.role is not Role.STUDENT:
            outcomes.append(EnrolOutcome(user.name, "not a student", f"{user.name!r} is an instructor"))
        elif user.id in present:
            outcomes.append(EnrolOutcome(user.name, "already enrolled"))
        else:
            session.add(Enrolment(problem_set_id=problem_set.id, user_id=user.id))
            present.add(user.id)
            outcomes.append(EnrolOutcome(user.name, "enrolled"))
    session.flush()
    return outcomes


def unenrol(session: Session, *, problem_set: ProblemSet, student: User) -> None:
    enrolment = session.get(Enrolment, (problem_set.id, student.id))
    if enrolment is None:
        raise NotFound(f"{student.name!r} is not enrolled in {problem_set.name!r}")
    session.delete(enrolment)
    session.flush()


def enrolled(session: Session, *, problem_set: ProblemSet) -> list[User]:
    return list(session.scalars(select(User).join(Enrolment, Enrolment.user_id == User.id)
                                .where(Enrolment.problem_set_id == problem_set.id).order_by(User.name)))


def version_count(session: Session, *, problem_set: ProblemSet) -> int:
    return session.scalar(select(func.count()).where(SetVersion.problem_set_id == problem_set.id)) or 0


def set_submissions_per_hour(session: Session, *, problem_set: ProblemSet, per_hour: int | None) -> None:
    """The set's hourly submission limit per student (0: none; None: the service's default)."""
    if per_hour is not None and per_hour < 0:
        raise Invalid("submissions_per_hour must be 0 (no limit) or more")
    problem_set.submissions_per_hour = per_hour
    session.flush()
