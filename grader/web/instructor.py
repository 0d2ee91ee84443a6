"""Instructor pages: upload a set, manage it, preview any student's key, class results, regrades, the CSV."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import func, select

from grader.expr.mathml import MathMLError, to_mathml
from grader.key import answer_key
from grader.problemset.model import ExpressionProblem, NetworkProblem
from grader.problemset.source import InputError
from grader.service.api.deps import JobId, ServiceDep, SessionDep
from grader.service.errors import Invalid, ServiceError
from grader.service.export import grades_csv
from grader.service.loaded import loaded_set
from grader.service.models import ProblemSet, RegradeJob, SetVersion, Submission, User
from grader.service.store.jobs import get_job, list_jobs, start_regrade
from grader.service.store.reports import class_results, set_show_expected
from grader.service.store.sets import (
    current_version,
    enrol_names,
    enrolled,
    owned_set,
    set_submissions_per_hour,
    sets_for,
    upload_set,
    versions,
)
from grader.service.store.submissions import hourly_limit
from grader.service.store.users import USER_NAME
from grader.service.text import utf8

from .charts import histogram_svg
from .diagram import network_svg
from .render import render
from .session import JsonUser, PageInstructor, PageRoute, PostedForm

router = APIRouter(route_class=PageRoute, include_in_schema=False)
json_router = APIRouter(include_in_schema=False)

#: the largest hourly submission limit the settings form takes
MAX_PER_HOUR = 100_000
#: lines of the file shown on each side of a line an error names
CONTEXT_LINES = 3
_FILE_NAME = re.compile(r"[^A-Za-z0-9._ -]")
MESSAGES = {
    "created": "The problem set was uploaded.",
    "changed": "A new version of the problem set was uploaded.",
    "unchanged": "The file is the same as the current version: nothing changed.",
    "enrolled": "The students were enrolled.",
    "settings": "The setting was saved.",
}


def sets_page(request: Request, session: SessionDep, user: User) -> Response:
    rows = []
    for problem_set in sets_for(session, user=user):
        version = current_version(session, problem_set=problem_set)
        submissions = session.scalar(select(func.count()).where(Submission.problem_set_id == problem_set.id)) or 0
        rows.append({"set": problem_set, "version": version, "students": len(enrolled(session,
                                                                                        problem_set=problem_set)),
                     "submissions": submissions})
    return render(request, "instructor_sets.html", title="My problem sets", rows=rows)


def set_page(request: Request, session: SessionDep, user: User, problem_set: ProblemSet, message: str = "",
             *, enrol_error: str | None = None, names: str = "", status: int = 200,
             settings_error: str | None = None, per_hour_typed: str | None = None) -> Response:
    version = current_version(session, problem_set=problem_set)
    default = request.app.state.service.settings.submissions_per_hour
    per_hour = per_hour_typed if per_hour_typed is not None else (
        "" if problem_set.submissions_per_hour is None else str(problem_set.submissions_per_hour))
    submissions = session.scalar(select(func.count()).where(Submission.problem_set_id == problem_set.id)) or 0
    return render(request, "instructor_set.html", status=status, title=version.title, problem_set=problem_set,
                  version=version, versions=list(reversed(versions(session, problem_set=problem_set))),
                  students=enrolled(session, problem_set=problem_set), submissions=submissions,
                  jobs=list_jobs(session, problem_set=problem_set)[:5], numbers=_numbers(session, problem_set),
                  message=MESSAGES.get(message, ""), enrol_error=enrol_error, names=names,
                  settings_error=settings_error, per_hour=per_hour, default_per_hour=default,
                  effective_per_hour=hourly_limit(problem_set, default))


def _numbers(session: SessionDep, problem_set: ProblemSet) -> dict[int, int]:
    return {v.id: v.number for v in versions(session, problem_set=problem_set)}


# -- upload ----------------------------------------------------------------------------------------------
@router.get("/upload")
def upload_form(request: Request, user: PageInstructor) -> Response:
    return render(request, "upload.html", title="Upload a problem set", source="", filename="", error=None,
                  listing=[])


@router.post("/upload")
def upload(request: Request, user: PageInstructor, form: PostedForm, session: SessionDep,
           service: ServiceDep) -> Response:
    """Store a new set, or a new version of one of yours; a broken file is shown again with its error."""
    source = form.get("source").replace("\r\n", "\n")
    filename = _FILE_NAME.sub("", form.get("filename"))[:120] or "upload.yaml"
    if not source.strip():
        return render(request, "upload.html", status=422, title="Upload a problem set", source=source,
                      filename=filename, error={"message": "The file is empty: choose a file or paste its text.",
                                                "line": None, "problem": None, "field": None}, listing=[])
    try:
        result = upload_set(session, owner=user, text=source, file=filename, limits=service.settings.set_load_limits)
        session.commit()
    except InputError as exc:
        session.rollback()
        error = {"message": exc.message, "line": exc.line, "problem": exc.problem, "field": exc.field}
        return render(request, "upload.html", status=422, title="Upload a problem set", source=source,
                      filename=filename, error=error, listing=_listing(source, exc.line))
    except ServiceError as exc:
        session.rollback()
        return render(request, "upload.html", status=exc.status, title="Upload a problem set", source=source,
                      filename=filename, listing=[],
                      error={"message": exc.message, "line": None, "problem": None, "field": None})
    what = "created" if result.created else ("changed" if result.changed else "unchanged")
    return RedirectResponse(f"/sets/{result.problem_set.name}?done={what}", status_code=303)


def _listing(source: str, line: int | None) -> list[tuple[int, str, bool]]:
    """The lines around ``line``: (number, text, is the line named)."""
    if line is None:
        return []
    lines = source.split("\n")
    first, last = max(line - CONTEXT_LINES, 1), min(line + CONTEXT_LINES, len(lines))
    return [(n, lines[n - 1], n == line) for n in range(first, last + 1)]


# -- enrolment and settings ------------------------------------------------------------------------------
@router.post("/sets/{set_id}/students")
def add_students(request: Request, set_id: str, user: PageInstructor, form: PostedForm,
                 session: SessionDep) -> Response:
    problem_set = owned_set(session, user=user, name=set_id)
    text = form.get("students")
    names = [n for n in re.split(r"[\s,;]+", text) if n]
    if not names:
        return set_page(request, session, user, problem_set, enrol_error="Type at least one user name.",
                        names=text, status=422)
    outcomes = enrol_names(session, problem_set=problem_set, names=names)
    session.commit()
    refused = [o for o in outcomes if not o.ok]
    if refused:
        added = sum(o.outcome == "enrolled" for o in outcomes)
        lines = [f"{o.name}: {o.outcome}" + (f" ({o.detail})" if o.detail else "") for o in refused[:10]]
        if len(refused) > 10:
            lines.append(f"and {len(refused) - 10} more")
        return set_page(request, session, user, problem_set, status=422, names=" ".join(o.name for o in refused),
                        enrol_error=f"Enrolled {added} student(s). Not enrolled: " + "; ".join(lines) +
                                    ". Add users with `grader user import ROSTER.csv`.")
    return RedirectResponse(f"/sets/{set_id}?done=enrolled#students", status_code=303)


@router.post("/sets/{set_id}/settings")
def save_settings(request: Request, set_id: str, user: PageInstructor, form: PostedForm,
                  session: SessionDep) -> Response:
    problem_set = owned_set(session, user=user, name=set_id)
    typed = form.get("submissions_per_hour").strip()
    per_hour: int | None = None
    if typed:
        if not typed.isdecimal() or int(typed) > MAX_PER_HOUR:
            return set_page(request, session, user, problem_set, status=422, per_hour_typed=typed,
                            settings_error=f"Submissions per hour must be a whole number from 0 (no limit) to "
                                           f"{MAX_PER_HOUR}, or empty for the service's default.")
        per_hour = int(typed)
    set_show_expected(session, problem_set=problem_set, show=form.get("show_expected") == "on")
    set_submissions_per_hour(session, problem_set=problem_set, per_hour=per_hour)
    session.commit()
    return RedirectResponse(f"/sets/{set_id}?done=settings#settings", status_code=303)


# -- the key of any student's variant ---------------------------------------------------------------------
@router.get("/sets/{set_id}/key")
def key_page(request: Request, set_id: str, user: PageInstructor, session: SessionDep,
             student: str = Query(default="", max_length=128),
             problem: str = Query(default="", max_length=64)) -> Response:
    """The computed key and the drawn network of one student's variant (or the file's own values)."""
    problem_set = owned_set(session, user=user, name=set_id)
    version = current_version(session, problem_set=problem_set)
    ps = loaded_set(version)
    if student and not USER_NAME.match(student):
        raise Invalid(f"{student!r} is not a user name (1-128 letters, digits or ._@+- characters)")
    if problem and problem not in {p.id for p in ps.problems}:
        raise Invalid(f"problem set {set_id!r} has no problem {problem!r}")
    key = answer_key(ps, student=student or None, problem=problem or None)
    shown = []
    for number, entry in enumerate(key["problems"]):
        p = ps.problem(entry["id"])
        item: dict[str, Any] = {"entry": entry, "problem": p}
        if isinstance(p, NetworkProblem):
            values = {**entry["given"], **entry["params"]}
            who = f"{student}'s" if student else "the file's"
            item["svg"] = Markup(network_svg(p, values, title=f"Network of {p.id} with {who} values",
                                             ident=f"net-{number}"))
        elif isinstance(p, ExpressionProblem):
            tree = p.display if p.display is not None else p.answer
            try:
                item["mathml"] = Markup(to_mathml(tree)) if tree is not None else None
            except MathMLError:
                item["mathml"] = None
        shown.append(item)
    return render(request, "key.html", title=f"Answer key: {version.title}", problem_set=problem_set,
                  version=version, students=[u.name for u in enrolled(session, problem_set=problem_set)],
                  student=student, problem=problem, problems=[p.id for p in ps.problems], shown=shown)


# -- class results ---------------------------------------------------------------------------------------
@router.get("/sets/{set_id}/results")
def results_page(request: Request, set_id: str, user: PageInstructor, session: SessionDep) -> Response:
    problem_set = owned_set(session, user=user, name=set_id)
    version = current_version(session, problem_set=problem_set)
    results = class_results(session, problem_set=problem_set)
    chart = Markup(histogram_svg(results.histogram, f"Score histogram of {problem_set.name}"))
    return render(request, "results.html", title=f"Class results: {version.title}", problem_set=problem_set,
                  version=version, results=results, chart=chart)


# -- regrades and the CSV --------------------------------------------------------------------------------
@router.post("/sets/{set_id}/regrades")
def regrade(set_id: str, user: PageInstructor, form: PostedForm, session: SessionDep,
            service: ServiceDep) -> Response:
    """Grade every submission again against the current version; then watch it on its page."""
    problem_set = owned_set(session, user=user, name=set_id)
    job, created = start_regrade(session, problem_set=problem_set, user=user, mode="batch")
    session.commit()  # recorded before it is queued: if queuing fails, the sweep queues it
    if created and job.finished_at is None:
        service.dispatcher.regrade(job.id)
    return RedirectResponse(f"/sets/{set_id}/regrades/{job.id}", status_code=303)


@router.get("/sets/{set_id}/regrades/{job_id}")
def regrade_page(request: Request, set_id: str, job_id: JobId, user: PageInstructor, session: SessionDep) -> Response:
    problem_set = owned_set(session, user=user, name=set_id)
    job = get_job(session, problem_set=problem_set, job_id=job_id)
    version = session.get(SetVersion, job.set_version_id)
    return render(request, "regrade.html", title=f"Regrade {job.id} of {problem_set.name}",
                  problem_set=problem_set, job=job, progress=progress(job),
                  version=version.number if version else 0)


def progress(job: RegradeJob) -> dict[str, Any]:
    handled = job.done + job.failed
    finished = job.finished_at is not None
    percent = 100 if finished and handled >= job.total else (100 * handled // job.total if job.total else 0)
    return {"id": job.id, "total": job.total, "done": job.done, "failed": job.failed, "pending": job.pending,
            "finished": finished, "percent": percent}


@json_router.get("/sets/{set_id}/regrades/{job_id}/progress")
def regrade_progress(set_id: str, job_id: JobId, user: JsonUser, session: SessionDep) -> dict[str, Any]:
    """The counts the regrade page's progress bar shows."""
    problem_set = owned_set(session, user=user, name=set_id)
    return progress(get_job(session, problem_set=problem_set, job_id=job_id))


@router.get("/sets/{set_id}/grades.csv")
def download_csv(set_id: str, user: PageInstructor, session: SessionDep) -> Response:
    problem_set = owned_set(session, user=user, name=set_id)
    return Response(utf8(grades_csv(session, problem_set=problem_set)), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{set_id}-grades.csv"'})
