"""Problem sets: instructors upload, update and list their own; students list the sets they are enrolled in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import and_, func, select

from grader.key import answer_key, problem_view
from grader.service.errors import Forbidden, NotFound
from grader.service.loaded import loaded_set
from grader.service.models import Grade, ProblemSet, Role, SetVersion, Submission
from grader.service.store.reports import set_show_expected
from grader.service.store.sets import (
    current_version,
    owned_set,
    set_submissions_per_hour,
    sets_for,
    upload_set,
    visible_set,
)
from grader.service.store.submissions import hourly_limit
from grader.service.text import utf8

from ..deps import FILE_BODY, MAX_DB_INT32, BodyText, CurrentUser, Instructor, ServiceDep, SessionDep
from ..present import set_out
from ..schemas import SetOut, SetSettingsIn, SetSettingsOut, UploadOut

router = APIRouter(prefix="/sets", tags=["problem sets"])


@router.get("", response_model=list[SetOut])
def list_sets(session: SessionDep, user: CurrentUser) -> list[SetOut]:
    """An instructor's own sets; a student's enrolled sets."""
    return [set_out(session, s, user) for s in sets_for(session, user=user)]


@router.post("", response_model=UploadOut, status_code=status.HTTP_201_CREATED, openapi_extra=FILE_BODY)
def create_set(session: SessionDep, user: Instructor, text: BodyText, response: Response, service: ServiceDep) \
        -> UploadOut:
    """Upload a new problem set (the YAML file as the body). A broken file is refused with the loader's message.

    The file is loaded in a bounded child process: one that needs more than GRADER_SET_LOAD_SECONDS or
    GRADER_SET_LOAD_MEMORY_MB is refused (422).
    """
    upload = upload_set(session, owner=user, text=text, file="upload", update=False,
                        limits=service.settings.set_load_limits)
    session.commit()
    response.headers["Location"] = f"/api/v1/sets/{upload.problem_set.name}"
    return _upload_out(session, upload.problem_set, user, upload.created, upload.changed, upload.version)


@router.put("/{set_id}", response_model=UploadOut, openapi_extra=FILE_BODY)
def update_set(set_id: str, session: SessionDep, user: Instructor, text: BodyText, service: ServiceDep) -> UploadOut:
    """Upload a changed file for one of your sets: a new version (the same file changes nothing)."""
    owned_set(session, user=user, name=set_id)
    upload = upload_set(session, owner=user, text=text, file=f"{set_id}.yaml", expect_name=set_id, create=False,
                        limits=service.settings.set_load_limits)
    session.commit()
    return _upload_out(session, upload.problem_set, user, upload.created, upload.changed, upload.version)


def _upload_out(session: SessionDep, problem_set: ProblemSet, user: Instructor, created: bool, changed: bool,
                version: SetVersion) -> UploadOut:
    graded = select(Grade.id).where(and_(Grade.submission_id == Submission.id, Grade.set_version_id == version.id))
    behind = session.scalar(select(func.count()).where(Submission.problem_set_id == problem_set.id,
                                                       ~graded.exists())) or 0
    return UploadOut(set=set_out(session, problem_set, user), created=created, changed=changed,
                     warnings=version.warnings, ungraded_by_current=behind)


@router.get("/{set_id}", response_model=SetOut)
def read_set(set_id: str, session: SessionDep, user: CurrentUser) -> SetOut:
    return set_out(session, visible_set(session, user=user, name=set_id), user)


@router.get("/{set_id}/source", response_class=Response,
            responses={200: {"content": {"application/yaml": {}}, "description": "the set's file"}})
def read_source(set_id: str, session: SessionDep, user: Instructor,
                version: int | None = Query(default=None, ge=1, le=MAX_DB_INT32,
                                            description="a version number; default current")) \
        -> Response:
    """The file of the current (or a given) version, as uploaded."""
    problem_set = owned_set(session, user=user, name=set_id)
    chosen = current_version(session, problem_set=problem_set)
    if version is not None:
        found = session.scalar(select(SetVersion).where(SetVersion.problem_set_id == problem_set.id,
                                                        SetVersion.number == version))
        if found is None:
            raise NotFound(f"problem set {set_id!r} has no version {version}")
        chosen = found
    return Response(utf8(chosen.source), media_type="application/yaml")


@router.get("/{set_id}/key")
def read_key(set_id: str, session: SessionDep, user: Instructor,
             student: str | None = Query(default=None, description="this student's variant of randomised values"),
             problem: str | None = Query(default=None, description="only this problem"),
             everything: bool = Query(default=False, description="every quantity, not only the asked ones")) \
        -> dict[str, Any]:
    """The computed answer key of the current version (per student where values are randomised)."""
    problem_set = owned_set(session, user=user, name=set_id)
    ps = loaded_set(current_version(session, problem_set=problem_set))
    if problem is not None and problem not in {p.id for p in ps.problems}:
        raise NotFound(f"problem set {set_id!r} has no problem {problem!r}")
    return answer_key(ps, student=student, problem=problem, everything=everything)


@router.get("/{set_id}/problems/{problem_id}")
def read_problem(set_id: str, problem_id: str, session: SessionDep, user: CurrentUser,
                 student: str | None = Query(default=None, description="instructors: whose variant")) \
        -> dict[str, Any]:
    """A problem as its student sees it: the statement and their own values, no answers."""
    problem_set = visible_set(session, user=user, name=set_id)
    ps = loaded_set(current_version(session, problem_set=problem_set))
    if problem_id not in {p.id for p in ps.problems}:
        raise NotFound(f"problem set {set_id!r} has no problem {problem_id!r}")
    if user.role is Role.STUDENT and student not in (None, user.name):
        raise Forbidden("students see only their own variant")
    whose = user.name if user.role is Role.STUDENT else (student or "")
    return problem_view(ps, whose, problem_id)


@router.get("/{set_id}/settings", response_model=SetSettingsOut)
def read_settings(set_id: str, session: SessionDep, user: Instructor, service: ServiceDep) -> SetSettingsOut:
    """What students of the set see, and how often they may submit."""
    return _settings_out(owned_set(session, user=user, name=set_id), service.settings.submissions_per_hour)


@router.patch("/{set_id}/settings", response_model=SetSettingsOut)
def change_settings(set_id: str, body: SetSettingsIn, session: SessionDep, user: Instructor,
                    service: ServiceDep) -> SetSettingsOut:
    """Change the fields given: ``show_expected``, ``submissions_per_hour`` (null: back to the default).

    Both take effect at once, with no regrade: the stored results hold the feedback in both wordings.
    """
    problem_set = owned_set(session, user=user, name=set_id)
    if body.show_expected is not None:
        set_show_expected(session, problem_set=problem_set, show=body.show_expected)
    if "submissions_per_hour" in body.model_fields_set:
        set_submissions_per_hour(session, problem_set=problem_set, per_hour=body.submissions_per_hour)
    session.commit()
    return _settings_out(problem_set, service.settings.submissions_per_hour)


def _settings_out(problem_set: ProblemSet, default: int) -> SetSettingsOut:
    return SetSettingsOut(show_expected=problem_set.show_expected,
                          submissions_per_hour=problem_set.submissions_per_hour, default_submissions_per_hour=default,
                          effective_submissions_per_hour=hourly_limit(problem_set, default))
