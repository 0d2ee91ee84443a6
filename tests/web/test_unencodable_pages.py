"""Lone surrogates and the pages: forms and the preview refuse them with where they are; rows stored before
that (and a set whose file escapes one) still show, for the student and the instructor, also after a clean
resubmission from the page."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from grader.service.models import Submission
from tests.service.conftest import Course, Env
from tests.service.test_api_unencodable import store_unencodable
from tests.web.conftest import csrf_of


def _sign_in(env: Env, token: str, where: str = "/sets") -> str:
    env.client.cookies.clear()
    page = env.client.post("/signin", data={"token": token, "next": where})
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def _shows(env: Env, path: str) -> str:
    page = env.client.get(path)
    assert page.status_code == 200, (path, page.text[:500])
    return page.content.decode("utf-8")  # strict: the page is valid UTF-8


def test_pages_show_what_was_stored_before_and_accept_a_clean_resubmission(env: Env, course: Course) -> None:
    store_unencodable(env, course)
    _sign_in(env, course.alice)
    for path in ("/sets", "/sets/tiny-net", "/sets/tiny-net/problems/q2"):
        _shows(env, path)
    q1 = _shows(env, "/sets/tiny-net/problems/q1")
    assert "\ufffd" in q1  # the stored answer and statement, with U+FFFD for what is not text
    csrf = csrf_of(q1)
    # q2 from its page: q1's stored answers are carried over into the new file, repaired
    sent = env.client.post("/sets/tiny-net/problems/q2", data={"csrf": csrf, "answer-0": "-2", "answer-1": "0"},
                           follow_redirects=False)
    assert sent.status_code == 303, sent.text
    env.wait()
    assert "Correct" in _shows(env, sent.headers["location"])
    _shows(env, "/sets/tiny-net/problems/q1")
    _sign_in(env, course.prof)
    for path in ("/sets", "/sets/tiny-net", "/sets/tiny-net/results", "/sets/tiny-net/key?student=alice",
                 "/sets/tiny-net/key?problem=q1", "/sets/tiny-net/grades.csv"):
        _shows(env, path)


def test_a_form_field_that_is_not_utf8_is_refused_naming_it(env: Env, course: Course) -> None:
    csrf = _sign_in(env, course.alice)
    with env.factory() as session:
        before = session.scalar(select(func.count()).select_from(Submission))
    refused = env.client.post("/sets/tiny-net/problems/q1", content=f"csrf={csrf}&answer-0=1%ED%A0%80".encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert refused.status_code == 422
    assert re.search(r"form field &#39;answer-0&#39; is not UTF-8 text: character 2 is an escaped byte 0xed",
                     refused.text)
    with env.factory() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == before


def test_the_preview_refuses_a_lone_surrogate_with_its_place(env: Env, course: Course) -> None:
    _sign_in(env, course.alice)
    response = env.client.post("/preview", content=b'{"text": "1 + \\ud800", "set": "tiny-net", "problem": "q1"}',
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert "text holds U+D800 at character 5" in response.json()["detail"]
