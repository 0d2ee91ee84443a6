"""Users and their bearer tokens."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.service.errors import Conflict, Invalid, NotFound
from grader.service.models import Role, User
from grader.service.roster import RosterEntry
from grader.service.security import hash_token, new_token
from grader.service.store.sessions import revoke_sessions

#: names per IN (...) query: well inside every database's parameter limit
CHUNK = 500

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


def instructors(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role == Role.INSTRUCTOR).order_by(User.name)))


def find_users(session: Session, keys: Iterable[str]) -> dict[str, User]:
    """The users whose name_key is among ``keys``, by name_key (queried in chunks)."""
    wanted = sorted(set(keys))
    found: dict[str, User] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        found.update((u.name_key, u) for u in session.scalars(select(User).where(User.name_key.in_(chunk))))
    return found


def suggest_name(session: Session, name: str) -> str | None:
    """The existing user name closest to ``name``, for a did-you-mean."""
    names = {key: name for key, name in session.execute(select(User.name_key, User.name))}
    close = difflib.get_close_matches(name_key(name), list(names), n=1, cutoff=0.7)
    return names[close[0]] if close else None


@dataclass
class ImportReport:
    """What importing a roster did: new users with their tokens, changed ones, and the rest."""

    created: list[tuple[User, str]] = field(default_factory=list)
    updated: list[User] = field(default_factory=list)
    unchanged: list[User] = field(default_factory=list)
    reissued: list[tuple[User, str]] = field(default_factory=list)

    @property
    def tokens(self) -> list[tuple[User, str]]:
        return self.created + self.reissued

    @property
    def users(self) -> list[User]:
        return [u for u, _ in self.created] + self.updated + self.unchanged


def import_roster(session: Session, entries: list[RosterEntry], *, new_tokens: bool = False,
                  allow_role_change: bool = True) -> ImportReport:
    """Create the roster's new users and update the others' role, e-mail and name, in the caller's transaction.

    New users get a token; existing ones keep theirs unless ``new_tokens``. With ``allow_role_change`` off
    (an instructor adding users through the API), a roster that would change someone's role is refused.
    """
    existing = find_users(session, (name_key(e.user) for e in entries))
    report = ImportReport()
    if not allow_role_change:
        changed = [e for e in entries if name_key(e.user) in existing and existing[name_key(e.user)].role != e.role]
        if changed:
            first = changed[0]
            raise Conflict(f"user {first.user!r} exists as {existing[name_key(first.user)].role.value}; only the "
                           "server's administrator can change a role (`grader user import`)", field="users",
                           line=first.line)
    for entry in entries:
        user = existing.get(name_key(entry.user))
        if user is None:
            token = new_token()
            user = User(name=entry.user, name_key=name_key(entry.user), role=entry.role,
                        token_hash=hash_token(token), email=entry.email, display_name=entry.name)
            session.add(user)
            report.created.append((user, token))
            continue
        changes = {"role": entry.role, "email": entry.email or user.email,
                   "display_name": entry.name or user.display_name}
        if any(getattr(user, k) != v for k, v in changes.items()):
            for k, v in changes.items():
                setattr(user, k, v)
            report.updated.append(user)
        else:
            report.unchanged.append(user)
        if new_tokens:
            token = new_token()
            user.token_hash = hash_token(token)
            report.reissued.append((user, token))
    session.flush()
    return report
