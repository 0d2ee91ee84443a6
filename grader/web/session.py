"""Who is looking at a page: a server-side session in an HttpOnly cookie, forms guarded against cross-site posts.

Signing in checks a token (the one ``grader user add`` printed) and starts a session of its own
(``grader.service.store.sessions``): a random id in a cookie that scripts cannot read and other sites never
send (``SameSite=Strict``), lasting ``GRADER_SESSION_HOURS``, revoked at sign-out. The token itself is
never kept by the browser. Every form that changes something carries a second value derived from the
session id, which another site cannot know, and is refused without it.

Page routes use ``PageRoute``: the service's errors become an HTML page with the same status (and a
missing or stale sign-in a redirect to the sign-in page) instead of the API's JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from grader.problemset.source import InputError
from grader.service.api.deps import SessionDep
from grader.service.errors import Forbidden, Invalid, ServiceError, Unauthorized
from grader.service.models import Role, User
from grader.service.settings import Settings
from grader.service.store.sessions import session_user
from grader.service.text import unencodable_in

from .render import render_error

log = logging.getLogger(__name__)

COOKIE = "grader_session"
#: fields of one form, and characters of one field: far above any real form, far below the body limit
MAX_FIELDS = 2000
MAX_FIELD_CHARS = 1_000_000


#: pages load only this site's own scripts, styles and images, and are never framed
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInNeeded(Exception):
    """No valid sign-in: the page sends the browser to the sign-in form."""


def csrf_token(session_id: str) -> str:
    """The value every form of this sign-in carries: derived from the session's id, unknown to other sites."""
    return hmac.new(session_id.encode("utf-8"), b"grader form", hashlib.sha256).hexdigest()


def signed_in(request: Request, session: SessionDep) -> User | None:
    """The user of the session in the cookie, if it is live (an API token there opens nothing)."""
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    return session_user(session, session_id=session_id)


def page_user(request: Request, session: SessionDep) -> User:
    user = signed_in(request, session)
    if user is None:
        raise SignInNeeded
    request.state.user = user
    request.state.csrf = csrf_token(request.cookies[COOKIE])
    return user


def page_instructor(user: Annotated[User, Depends(page_user)]) -> User:
    if user.role is not Role.INSTRUCTOR:
        raise Forbidden("this page is for instructors")
    return user


def page_student(user: Annotated[User, Depends(page_user)]) -> User:
    if user.role is not Role.STUDENT:
        raise Forbidden("this page is for students")
    return user


def json_user(request: Request, session: SessionDep) -> User:
    """For the small JSON endpoints the pages call: 401 as JSON, not a redirect."""
    user = signed_in(request, session)
    if user is None:
        raise Unauthorized("sign in first")
    return user


PageUser = Annotated[User, Depends(page_user)]
PageInstructor = Annotated[User, Depends(page_instructor)]
PageStudent = Annotated[User, Depends(page_student)]
JsonUser = Annotated[User, Depends(json_user)]


class Form:
    """The fields of a posted form (``application/x-www-form-urlencoded``)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def has(self, name: str) -> bool:
        return name in self.fields


async def read_form(request: Request, *, check: bool = True) -> Form:
    """Read a posted form; refuse other bodies, and (with ``check``) forms without this sign-in's form value."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden(f"the form was sent from another site ({origin}); send it from this site's page")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Invalid(f"expected a form (application/x-www-form-urlencoded), not {kind or 'no content type'}")
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the form is not UTF-8 text (byte {exc.start + 1} is {raw[exc.start]:#04x})") from None
    try:
        # bytes that are not UTF-8 (an escaped surrogate, %ED%A0%80) come out as lone surrogates: found below
        fields = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="surrogateescape")
    except ValueError as exc:
        raise Invalid(f"the form cannot be read: {exc}") from None
    for name, values in fields.items():
        shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        if unencodable_in(name) is not None:
            raise Invalid(f"a form field's name ({shown!r}) is not UTF-8 text", field=shown)
        for value in values:
            if len(value) > MAX_FIELD_CHARS:
                raise Invalid(f"form field {name!r} is too long (at most {MAX_FIELD_CHARS} characters)", field=name)
            at = unencodable_in(value)
            if at is not None:
                raise Invalid(f"form field {name!r} is not UTF-8 text: character {at + 1} is an escaped byte "
                              f"{ord(value[at]) - 0xDC00:#04x} that UTF-8 does not allow there", field=name)
    form = Form(fields)
    token = request.cookies.get(COOKIE, "")
    if check and not hmac.compare_digest(form.get("csrf"), csrf_token(token)):
        raise Forbidden("the form did not come from this page (or you signed in again since): reload the page "
                        "and send it again")
    return form


async def posted_form(request: Request) -> Form:
    return await read_form(request)


async def sign_in_form(request: Request) -> Form:
    return await read_form(request, check=False)


PostedForm = Annotated[Form, Depends(posted_form)]
SignInForm = Annotated[Form, Depends(sign_in_form)]


def set_cookie(response: Response, request: Request, session_id: str, settings: Settings) -> None:
    """The session's cookie: gone when the session expires, never sent to scripts or with other sites' requests.

    ``Secure`` when ``GRADER_SESSION_COOKIE_SECURE`` says so, or (unset) when this request came over https.
    """
    secure = settings.session_cookie_secure
    if secure is None:
        secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, session_id, max_age=int(settings.session_hours * 3600), httponly=True,
                        samesite="strict", path="/", secure=secure)


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def safe_next(target: str) -> str:
    """Where to go after signing in: only a path on this site."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


class PageRoute(APIRoute):
    """A route that answers errors with an HTML page (or the sign-in page) instead of JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            response: Response
            try:
                response = await handler(request)
            except SignInNeeded:
                here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = RedirectResponse(f"/signin?next={quote(here, safe='')}", status_code=303)
            except ServiceError as exc:
                response = render_error(request, exc.status, exc.message)
            except InputError as exc:
                response = render_error(request, 422, exc.describe())
            except RequestValidationError as exc:
                where = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
                response = render_error(request, 404 if where.startswith("path") else 422,
                                        f"this address is not valid ({where})")
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return run
