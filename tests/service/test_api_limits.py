"""How often a student may submit: a set's hourly limit (from the database) and per-user token buckets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from grader.service.api.main import create_app
from grader.service.errors import TooManyRequests
from grader.service.models import Submission
from grader.service.ratelimit import Rate, RateLimiter
from grader.service.settings import Settings
from tests.service.builders import add_user, answers_text, auth, enrol, upload
from tests.service.conftest import Course, Env

SUBMIT = "/api/v1/sets/tiny-net/submissions"


def _count(env: Env) -> int:
    with env.factory() as session:
        return session.scalar(select(func.count()).select_from(Submission)) or 0


def _settings(env: Env, token: str, **change: object) -> dict[str, object]:
    response = env.client.patch("/api/v1/sets/tiny-net/settings", json=change, headers=auth(token))
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_the_instructor_reads_and_changes_the_settings(env: Env, course: Course, settings: Settings) -> None:
    read = env.client.get("/api/v1/sets/tiny-net/settings", headers=auth(course.prof))
    assert read.status_code == 200
    assert read.json() == {"show_expected": False, "submissions_per_hour": None,
                           "default_submissions_per_hour": settings.submissions_per_hour,
                           "effective_submissions_per_hour": settings.submissions_per_hour}
    assert _settings(env, course.prof, submissions_per_hour=5)["effective_submissions_per_hour"] == 5
    assert _settings(env, course.prof, show_expected=True) == {
        "show_expected": True, "submissions_per_hour": 5, "default_submissions_per_hour": 0,
        "effective_submissions_per_hour": 5}  # a field left out stays as it was
    assert _settings(env, course.prof, submissions_per_hour=None)["submissions_per_hour"] is None
    for bad in (-1, 10**6, "many"):
        refused = env.client.patch("/api/v1/sets/tiny-net/settings", json={"submissions_per_hour": bad},
                                   headers=auth(course.prof))
        assert refused.status_code == 422
    for who in (course.alice, course.other_prof):
        assert env.client.get("/api/v1/sets/tiny-net/settings", headers=auth(who)).status_code == 403
        assert env.client.patch("/api/v1/sets/tiny-net/settings", json={"show_expected": True},
                                headers=auth(who)).status_code == 403


def test_past_the_hourly_limit_a_submission_is_refused_with_retry_after(env: Env, course: Course,
                                                                          settings: Settings) -> None:
    _settings(env, course.prof, submissions_per_hour=3)
    for _ in range(3):
        assert env.client.post(SUBMIT, content=answers_text("alice"), headers=auth(course.alice)).status_code == 202
    refused = env.client.post(SUBMIT, content=answers_text("alice"), headers=auth(course.alice))
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 3500 <= wait <= 3600
    assert refused.json()["retry_after"] == wait and "at most 3 submissions an hour" in refused.json()["detail"]
    assert _count(env) == 3  # nothing stored
    assert env.client.post(SUBMIT, content=answers_text("bob"), headers=auth(course.bob)).status_code == 202

    # counted in the database: another API process on the same database refuses too
    with TestClient(create_app(settings)) as other:
        again = other.post(SUBMIT, content=answers_text("alice"), headers=auth(course.alice))
        assert again.status_code == 429 and "Retry-After" in again.headers

    # an hour is a sliding window: once the oldest is more than an hour old, one more goes in
    with env.factory() as session:
        first = session.scalar(select(func.min(Submission.id)))
        session.execute(update(Submission).where(Submission.id == first)
                        .values(created_at=Submission.created_at - timedelta(minutes=61)))
        session.commit()
    assert env.client.post(SUBMIT, content=answers_text("alice"), headers=auth(course.alice)).status_code == 202
    assert env.client.post(SUBMIT, content=answers_text("alice"), headers=auth(course.alice)).status_code == 429

    _settings(env, course.prof, submissions_per_hour=0)  # no limit
    assert env.client.post(SUBMIT, content=answers_text("alice"), headers=auth(course.alice)).status_code == 202
    env.wait()


@pytest.fixture
def limited(settings: Settings) -> Iterator[Env]:
    """The service with its default hourly limit and small token buckets for submissions and previews."""
    tight = settings.model_copy(update={"submissions_per_hour": 30, "submit_burst": 2, "submit_per_minute": 1.0,
                                        "preview_burst": 3, "preview_per_minute": 60.0})
    app = create_app(tight)
    with TestClient(app) as client:
        service = app.state.service
        yield Env(client, service.factory, service.dispatcher)  # type: ignore[arg-type]


def test_the_default_hourly_limit_comes_from_the_settings(limited: Env) -> None:
    prof = add_user(limited.factory, "prof", "instructor")
    upload(limited.client, prof)
    read = limited.client.get("/api/v1/sets/tiny-net/settings", headers=auth(prof)).json()
    assert read["effective_submissions_per_hour"] == 30 and read["submissions_per_hour"] is None


def test_a_users_bucket_limits_submissions_and_previews(limited: Env) -> None:
    prof, alice = add_user(limited.factory, "prof", "instructor"), add_user(limited.factory, "alice", "student")
    bob = add_user(limited.factory, "bob", "student")
    upload(limited.client, prof)
    enrol(limited.client, prof, "tiny-net", "alice", "bob")
    for _ in range(2):
        assert limited.client.post(SUBMIT, content=answers_text("alice"), headers=auth(alice)).status_code == 202
    refused = limited.client.post(SUBMIT, content=answers_text("alice"), headers=auth(alice))
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "too many submissions" in refused.json()["detail"]
    assert limited.client.post(SUBMIT, content=answers_text("bob"), headers=auth(bob)).status_code == 202  # own bucket

    signed = limited.client.post("/signin", data={"token": alice, "next": "/sets"}, follow_redirects=False)
    assert signed.status_code == 303
    body = {"text": "tanh(1.2)", "set": "tiny-net", "problem": "q1"}
    assert [limited.client.post("/preview", json=body).status_code for _ in range(3)] == [200] * 3
    slow = limited.client.post("/preview", json=body)
    assert slow.status_code == 429 and int(slow.headers["Retry-After"]) == 1
    limited.dispatcher.wait_idle()


def test_a_bucket_refills_at_its_rate_and_holds_at_most_its_burst() -> None:
    now = [0.0]
    limiter = RateLimiter({"submit": Rate(burst=2, per_minute=6.0)}, clock=lambda: now[0])
    limiter.take("submit", 1)
    limiter.take("submit", 1)
    with pytest.raises(TooManyRequests) as refused:
        limiter.take("submit", 1)
    assert getattr(refused.value, "retry_after", None) == 10  # one token every 10 s
    now[0] = 10.0
    limiter.take("submit", 1)
    now[0] = 1000.0  # long idle: the bucket is full again, but holds no more than its burst
    limiter.take("submit", 1)
    limiter.take("submit", 1)
    with pytest.raises(TooManyRequests):
        limiter.take("submit", 1)
    limiter.take("submit", 2)  # another user's bucket
    RateLimiter({"submit": Rate(burst=0, per_minute=0.0)}).take("submit", 1)  # off


def test_concurrent_submissions_of_one_student_are_counted_one_after_the_other(env: Env, course: Course) -> None:
    """Twelve requests at once against a limit of 3: exactly 3 stored (without the enrolment row's lock, up
    to 8 of 12 got in on SQLite, each having counted before any other was stored)."""
    _settings(env, course.prof, submissions_per_hour=3)
    codes: list[int] = []

    def send() -> None:
        codes.append(env.client.post(SUBMIT, content=answers_text("alice"), headers=auth(course.alice)).status_code)

    threads = [threading.Thread(target=send) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [202] * 3 + [429] * 9
    assert _count(env) == 3
    env.wait()
