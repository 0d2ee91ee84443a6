"""Web sign-in makes a server-side session: its own id in the cookie (only its hash stored), an expiry,
revoked at sign-out and when the user's token is replaced. The API token opens no page."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from grader.service.api.main import create_app
from grader.service.db import utcnow
from grader.service.models import WebSession
from grader.service.settings import Settings
from grader.service.store.users import renew_token
from grader.web.session import COOKIE, csrf_token
from tests.service.builders import add_user
from tests.service.conftest import Course, Env
from tests.web.conftest import csrf_of


def _sign_in(client: TestClient, token: str) -> str:
    response = client.post("/signin", data={"token": token, "next": "/sets"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["set-cookie"]


def _rows(env: Env) -> list[WebSession]:
    with env.factory() as session:
        return list(session.scalars(select(WebSession)))


def test_the_cookie_holds_a_session_of_its_own_and_only_its_hash_is_stored(env: Env, course: Course) -> None:
    header = _sign_in(env.client, course.alice)
    cookie = env.client.cookies[COOKIE]
    assert cookie != course.alice and course.alice not in header
    assert cookie.startswith("gss_") and len(cookie) >= 40
    assert "HttpOnly" in header and "SameSite=strict" in header and "Max-Age=43200" in header
    assert "Secure" not in header  # plain http here
    [row] = _rows(env)
    assert row.id_hash == hashlib.sha256(cookie.encode()).hexdigest()
    assert row.revoked_at is None
    assert timedelta(hours=11.9) < row.expires_at - row.created_at <= timedelta(hours=12)
    page = env.client.get("/sets")
    assert page.status_code == 200
    # forms carry a value derived from the session, not from the token
    assert csrf_of(page.text) == csrf_token(cookie) != csrf_token(course.alice)


def test_signing_out_revokes_the_session_and_a_replayed_cookie_opens_nothing(env: Env, course: Course) -> None:
    _sign_in(env.client, course.alice)
    cookie = env.client.cookies[COOKIE]
    csrf = csrf_of(env.client.get("/sets").text)
    out = env.client.post("/signout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    [row] = _rows(env)
    assert row.revoked_at is not None
    replay = TestClient(env.client.app, cookies={COOKIE: cookie})
    page = replay.get("/sets/tiny-net", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/signin?next=")
    assert replay.get("/submissions/1/status").status_code == 401  # the pages' JSON endpoints too
    refused = replay.post("/sets/tiny-net/problems/q1", data={"csrf": csrf, "answer-0": "1"}, follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/signin")


def test_an_expired_session_sends_the_browser_to_sign_in(env: Env, course: Course) -> None:
    _sign_in(env.client, course.alice)
    assert env.client.get("/sets", follow_redirects=False).status_code == 200
    with env.factory() as session:
        session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    page = env.client.get("/sets", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/signin")
    _sign_in(env.client, course.alice)  # signing in again clears what the old session left
    assert [r.revoked_at for r in _rows(env)] == [None]


def test_the_session_lasts_the_configured_hours(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"session_hours": 0.5}))
    with TestClient(app) as client:
        token = add_user(app.state.service.factory, "alice", "student")
        assert "Max-Age=1800" in _sign_in(client, token)
        with app.state.service.factory() as session:
            row = session.scalars(select(WebSession)).one()
        assert row.expires_at - row.created_at == timedelta(minutes=30)


def test_the_api_token_in_the_cookie_opens_no_page(env: Env, course: Course) -> None:
    client = TestClient(env.client.app, cookies={COOKIE: course.alice})
    page = client.get("/sets", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/signin")
    assert client.get("/submissions/1/status").status_code == 401
    assert env.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {course.alice}"}).status_code == 200


def test_a_new_token_signs_the_user_out_everywhere(env: Env, course: Course) -> None:
    _sign_in(env.client, course.alice)
    assert env.client.get("/sets", follow_redirects=False).status_code == 200
    with env.factory() as session:
        renew_token(session, name="alice")
        session.commit()
    assert env.client.get("/sets", follow_redirects=False).status_code == 303


def test_signing_in_again_makes_a_new_session_and_old_forms_are_refused(env: Env, course: Course) -> None:
    _sign_in(env.client, course.alice)
    first, old_csrf = env.client.cookies[COOKIE], csrf_of(env.client.get("/sets").text)
    env.client.cookies.clear()
    _sign_in(env.client, course.alice)
    assert env.client.cookies[COOKIE] != first
    refused = env.client.post("/sets/tiny-net/problems/q1", data={"csrf": old_csrf, "answer-0": "1"})
    assert refused.status_code == 403


def test_the_cookie_is_secure_over_https_or_when_configured(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app, base_url="https://testserver") as client:
        token = add_user(app.state.service.factory, "alice", "student")
        assert "Secure" in _sign_in(client, token)
    forced = create_app(settings.model_copy(update={"session_cookie_secure": True}))
    with TestClient(forced) as client:
        token = add_user(forced.state.service.factory, "bob", "student")
        assert "Secure" in _sign_in(client, token)
