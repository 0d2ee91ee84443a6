"""Users and their bearer tokens."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.service.errors import Conflict, Invalid, NotFound
from grader.service.models import Role, User
from grader.service.security import hash_token, new_token
from grader.service.store.sessions import revoke_sessions

# The same names an answers file accepts as ``student``.
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


def create_user(session: Session, *, name: str, role: Role) -> tuple[User, str]:
    """Add a user; return it with its bearer token (shown once, stored hashed)."""
    if not USER_NAME.match(name):
        raise Invalid(f"user name {name!r} must be 1-128 letters, digits or ._@+- characters", field="name")
    if get_user(session, name=name) is not None:
        raise Conflict(f"user {name!r} already exists", field="name")
    token = new_token()
    user = User(name=name, name_key=name_key(name), role=role, token_hash=hash_token(token))
    session.add(user)
    session.flush()
    return user, token


def renew_token(session: Session, *, name: str) -> str:
    """Give ``name`` a new token; the old one stops working, and so do the web sessions signed in with it."""
    user = get_user(session, name=name)
    if user is None:
        raise NotFound(f"no user {name!r}")
    token = new_token()
    user.token_hash = hash_token(token)
    revoke_sessions(session, user=user)
    session.flush()
    return token


def name_key(name: str) -> str:
    """How a user name is matched: without regard to case (``Alice`` is ``alice``)."""
    return name.lower()


def get_user(session: Session, *, name: str) -> User | None:
    return session.scalar(select(User).where(User.name_key == name_key(name)))


def user_by_token(session: Session, *, token: str) -> User | None:
    return session.scalar(select(User).where(User.token_hash == hash_token(token)))


def users_by_name(session: Session, *, names: list[str]) -> dict[str, User]:
    """The users of ``names`` that exist, each under the name as given (matched without regard to case)."""
    keys = {name_key(n) for n in names}
    found = {u.name_key: u for u in session.scalars(select(User).where(User.name_key.in_(keys)))}
    return {n: found[name_key(n)] for n in names if name_key(n) in found}


def instructors(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role == Role.INSTRUCTOR).order_by(User.name)))
