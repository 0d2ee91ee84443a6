"""Dependencies shared by the routes: the session, the caller, the raw file in a request body."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from grader.service.dispatch import Dispatcher
from grader.service.errors import Forbidden, Invalid, Unauthorized
from grader.service.models import Role, User
from grader.service.ratelimit import Rate, RateLimiter
from grader.service.settings import Settings
from grader.service.store.users import user_by_token


@dataclass
class Service:
    """What the app holds for the lifetime of the process."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    dispatcher: Dispatcher
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter({}))

    @classmethod
    def limiter_for(cls, settings: Settings) -> RateLimiter:
        """The per-user token buckets the settings ask for."""
        return RateLimiter({"submit": Rate(settings.submit_burst, settings.submit_per_minute),
                            "preview": Rate(settings.preview_burst, settings.preview_per_minute)})


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


def get_session(service: ServiceDep) -> Iterator[Session]:
    with service.factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

#: The largest integer a row id or count can hold (BIGINT; SQLite's INTEGER). Parameters above it name
#: nothing that can exist, and the databases cannot even compare with them: they are refused (422).
MAX_DB_INT = 2**63 - 1
#: The largest number an INTEGER column holds (a version's number).
MAX_DB_INT32 = 2**31 - 1

SubmissionId = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="a submission's id")]
JobId = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="a regrade's id")]

_bearer = HTTPBearer(auto_error=False, description="The token `grader user add` printed.")


def get_current_user(session: SessionDep,
                     credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> User:
    if credentials is None:
        raise Unauthorized("send your token as 'Authorization: Bearer <token>'")
    user = user_by_token(session, token=credentials.credentials)
    if user is None:
        raise Unauthorized("the token is not valid")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_instructor(user: CurrentUser) -> User:
    if user.role is not Role.INSTRUCTOR:
        raise Forbidden("only instructors may do this")
    return user


def get_student(user: CurrentUser) -> User:
    if user.role is not Role.STUDENT:
        raise Forbidden("only students may do this")
    return user


Instructor = Annotated[User, Depends(get_instructor)]
Student = Annotated[User, Depends(get_student)]


async def get_body_text(request: Request) -> str:
    """The request body as the text of a file (YAML or JSON)."""
    raw = await request.body()
    if not raw.strip():
        raise Invalid("the request body is empty: send the file's text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the request body is not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x})") from None


BodyText = Annotated[str, Depends(get_body_text)]

# How the OpenAPI description shows a body that is a file's text.
FILE_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/yaml": {"schema": {"type": "string"}},
    "application/json": {"schema": {"type": "object"}},
    "text/plain": {"schema": {"type": "string"}},
}}}
