"""The pages' router: sign-in, the pages both roles share (each sees its own version), static files.

``router`` is what the service includes; it carries the student and instructor pages, the preview and the
small JSON endpoints the pages poll. See docs/web.md.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from grader.service.api.deps import ServiceDep, SessionDep
from grader.service.models import Role
from grader.service.store.sessions import revoke_session, start_session
from grader.service.store.sets import visible_set
from grader.service.store.users import user_by_token

from . import instructor, preview, student
from .render import render, static_file
from .session import (
    COOKIE,
    PageRoute,
    PageUser,
    PostedForm,
    SignInForm,
    clear_cookie,
    safe_next,
    set_cookie,
    signed_in,
)

pages = APIRouter(route_class=PageRoute, include_in_schema=False)


@pages.get("/")
def home(request: Request, session: SessionDep) -> Response:
    return RedirectResponse("/sets" if signed_in(request, session) else "/signin", status_code=303)


@pages.get("/signin")
def sign_in_form(request: Request, next: str = Query(default="/sets", max_length=2000)) -> Response:
    return render(request, "signin.html", title="Sign in", next=safe_next(next), error=None)


@pages.post("/signin")
def sign_in(request: Request, form: SignInForm, session: SessionDep, service: ServiceDep) -> Response:
    """Check the token, start a session (its id in an HttpOnly cookie), and go where the visitor was headed."""
    token = form.get("token").strip()
    target = safe_next(form.get("next", "/sets"))
    user = user_by_token(session, token=token) if token else None
    if user is None:
        message = "That token is not valid." if token else "Type your token."
        return render(request, "signin.html", status=401 if token else 422, title="Sign in", next=target,
                      error=message)
    session_id = start_session(session, user=user, hours=service.settings.session_hours)
    session.commit()
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, request, session_id, service.settings)
    return response


@pages.post("/signout")
def sign_out(request: Request, user: PageUser, form: PostedForm, session: SessionDep) -> Response:
    """Revoke the session: its cookie opens nothing from now on, even sent again."""
    revoke_session(session, session_id=request.cookies[COOKIE])
    session.commit()
    response = RedirectResponse("/signin", status_code=303)
    clear_cookie(response)
    return response


@pages.get("/sets")
def list_sets(request: Request, user: PageUser, session: SessionDep) -> Response:
    if user.role is Role.INSTRUCTOR:
        return instructor.sets_page(request, session, user)
    return student.sets_page(request, session, user)


@pages.get("/sets/{set_id}")
def show_set(request: Request, set_id: str, user: PageUser, session: SessionDep,
             done: str = Query(default="", max_length=32)) -> Response:
    problem_set = visible_set(session, user=user, name=set_id)
    if user.role is Role.INSTRUCTOR:
        return instructor.set_page(request, session, user, problem_set, done)
    return student.set_page(request, session, user, problem_set)


@pages.get("/sets/{set_id}/problems/{problem_id}")
def show_problem(request: Request, set_id: str, problem_id: str, user: PageUser, session: SessionDep) -> Response:
    problem_set = visible_set(session, user=user, name=set_id)
    if user.role is Role.INSTRUCTOR:  # instructors see problems through the key of any student's variant
        return RedirectResponse(f"/sets/{set_id}/key?problem={problem_id}", status_code=303)
    return student.problem_page(request, session, user, problem_set, problem_id)


@pages.get("/static/{name}")
def static(name: str) -> Response:
    return static_file(name)


router = APIRouter()
for part in (pages, student.router, instructor.router, student.json_router, instructor.json_router, preview.router):
    router.include_router(part)
