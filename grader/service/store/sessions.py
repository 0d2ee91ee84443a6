"""Sign-ins of the web pages: a random id the browser keeps in a cookie, only its SHA-256 kept here.

A session is not the user's API token: it lasts ``GRADER_SESSION_HOURS``, signing out revokes it (the
cookie then opens nothing, even replayed), and a new token for the user revokes all of theirs.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from grader.service.db import utcnow
from grader.service.models import User, WebSession
from grader.service.security import hash_token

SESSION_PREFIX = "gss_"
#: longer cookies are not session ids (they are not even looked up)
MAX_SESSION_ID = 128


def start_session(session: Session, *, user: User, hours: float) -> str:
    """A new sign-in of ``user`` lasting ``hours``; return its id (for the cookie; stored only hashed)."""
    now = utcnow()
    # what this user's expired or revoked sessions left behind is not needed any more
    session.execute(delete(WebSession).where(WebSession.user_id == user.id, or_(
        WebSession.expires_at <= now, WebSession.revoked_at.is_not(None))))
    session_id = SESSION_PREFIX + secrets.token_urlsafe(32)
    session.add(WebSession(id_hash=hash_token(session_id), user_id=user.id, created_at=now,
                           expires_at=now + timedelta(hours=hours)))
    session.flush()
    return session_id


def session_user(session: Session, *, session_id: str) -> User | None:
    """The user of a live session (not expired, not revoked), or None."""
    if not session_id.startswith(SESSION_PREFIX) or len(session_id) > MAX_SESSION_ID:
        return None
    return session.scalar(select(User).join(WebSession, WebSession.user_id == User.id).where(
        WebSession.id_hash == hash_token(session_id), WebSession.revoked_at.is_(None),
        WebSession.expires_at > utcnow()))


def revoke_session(session: Session, *, session_id: str) -> None:
    """Sign out: the session stops working at once."""
    session.execute(update(WebSession).where(WebSession.id_hash == hash_token(session_id),
                                             WebSession.revoked_at.is_(None)).values(revoked_at=utcnow()))


def revoke_sessions(session: Session, *, user: User) -> None:
    """Every live session of ``user`` stops working (their token was replaced)."""
    session.execute(update(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))
