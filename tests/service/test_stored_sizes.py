"""What one submission and one grade may store is bounded, checked before the write: answers that read as
more than GRADER_MAX_ANSWERS_BYTES are refused with nothing stored; a result over GRADER_MAX_RESULT_BYTES
leaves the submission graded with an error that says so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from grader.service.api.main import create_app
from grader.service.dispatch import InProcessDispatcher
from grader.service.models import Grade, Submission
from grader.service.settings import DEFAULT_MAX_ANSWERS_BYTES, DEFAULT_MAX_RESULT_BYTES, Settings
from grader.service.text import json_size
from tests.service.builders import answers_text, auth
from tests.service.conftest import Course, Env, make_course
from tests.web.conftest import csrf_of


def alias_answers(levels: int = 6) -> str:
    """A few hundred bytes of YAML whose aliases read as megabytes of answers (10**levels short strings)."""
    lines = ["problem_set: tiny-net", "student: alice", "answers:", "  q1:",
             "    z: &a0 [" + ", ".join(["aaaaaaaaa"] * 10) + "]"]
    names = ["p", "L", "dL/dw", "w1", "w2", "w3"]
    for i in range(1, levels):
        lines.append(f"    {names[i - 1]}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def _count(env: Env, model: type) -> int:
    with env.factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def small_env(settings: Settings) -> Iterator[Env]:
    """The service with small bounds: 1 KiB of answers (the least allowed), 2 KiB of result (twice a short one)."""
    app = create_app(settings.model_copy(update={"max_answers_bytes": 1024, "max_result_bytes": 2048}))
    service = app.state.service
    assert isinstance(service.dispatcher, InProcessDispatcher)
    with TestClient(app) as client:
        yield Env(client, service.factory, service.dispatcher)


def test_the_defaults_are_documented_sizes() -> None:
    assert DEFAULT_MAX_ANSWERS_BYTES == 256 * 1024 and DEFAULT_MAX_RESULT_BYTES == 512 * 1024
    settings = Settings()
    assert settings.max_answers_bytes == DEFAULT_MAX_ANSWERS_BYTES
    assert settings.max_result_bytes == DEFAULT_MAX_RESULT_BYTES


def test_answers_that_expand_to_megabytes_are_refused_and_nothing_is_stored(env: Env, course: Course) -> None:
    text = alias_answers()
    assert len(text.encode()) < 600
    response = env.client.post("/api/v1/sets/tiny-net/submissions", content=text, headers=auth(course.alice))
    # refused here by the stored-size bound (413), or before that by the reader's own bound on aliases (422)
    assert response.status_code in (413, 422), response.text
    body = response.json()
    assert set(body) <= {"detail", "field", "file", "line", "error"}
    if response.status_code == 413:
        assert "more than the 262,144 one submission may store" in body["detail"]
        assert "nothing was stored" in body["detail"] and body["field"] == "answers"
    assert _count(env, Submission) == 0 and _count(env, Grade) == 0


def test_plain_answers_over_the_bound_are_refused_before_the_write(small_env: Env) -> None:
    course = make_course(small_env)
    long = {"q1": {"z": "1" * 600, "p": "2" * 600}}
    text = answers_text("alice", long)
    response = small_env.client.post("/api/v1/sets/tiny-net/submissions", content=text, headers=auth(course.alice))
    assert response.status_code == 413, response.text
    assert "more than the 1,024 one submission may store" in response.json()["detail"]
    assert _count(small_env, Submission) == 0
    fits = small_env.client.post("/api/v1/sets/tiny-net/submissions", content=answers_text("alice", {"q1": {"z": 1.1}}),
                                 headers=auth(course.alice))
    assert fits.status_code == 202, fits.text


def test_the_problem_page_says_why_too_long_answers_were_not_stored(small_env: Env) -> None:
    course = make_course(small_env)
    small_env.client.post("/signin", data={"token": course.alice})
    csrf = csrf_of(small_env.client.get("/sets/tiny-net/problems/q1").text)
    page = small_env.client.post("/sets/tiny-net/problems/q1", data={"csrf": csrf, "answer-0": "9" * 1500})
    assert page.status_code == 413
    assert "one submission may store" in page.text and "9" * 1500 in page.text  # what was typed is kept
    assert _count(small_env, Submission) == 0


def test_a_result_over_the_bound_leaves_the_submission_graded_with_a_clear_error(small_env: Env) -> None:
    course = make_course(small_env)
    answers = {"q1": {q: "x" * 200 for q in ("z", "p", "L")}}  # 600 bytes of answers, each echoed in the result
    assert json_size(answers) < 1024
    sent = small_env.client.post("/api/v1/sets/tiny-net/submissions", content=answers_text("alice", answers),
                                 headers=auth(course.alice))
    assert sent.status_code == 202, sent.text
    small_env.wait()
    body = small_env.client.get(sent.headers["location"], headers=auth(course.alice)).json()
    assert body["status"] == "failed"
    grade = body["grade"]
    assert grade["score"] is None and grade["result"] is None
    assert "more than the 2,048 a grade may store" in grade["error"]
    with small_env.factory() as session:
        stored = session.scalars(select(Grade)).one()
        assert stored.result is None and stored.error == grade["error"]
    # a regrade (graded in a chunk) bounds its results the same way
    small_env.client.post("/api/v1/sets/tiny-net/regrades", headers=auth(course.prof))
    small_env.wait()
    assert _count(small_env, Grade) == 1  # same version: nothing to regrade, nothing lost
    page = small_env.client.post("/signin", data={"token": course.alice, "next": "/sets/tiny-net/problems/q1"})
    assert page.status_code == 200 and "a grade may store" in page.text


def test_a_regrade_chunk_bounds_each_result(small_env: Env) -> None:
    from tests.service.builders import TINY_SET_V2

    course = make_course(small_env)
    long = {"q1": {q: "y" * 200 for q in ("z", "p", "L")}}
    for answers in (long, {"q1": {"z": 1.1}}):
        sent = small_env.client.post("/api/v1/sets/tiny-net/submissions", content=answers_text("alice", answers),
                                     headers=auth(course.alice))
        assert sent.status_code == 202
    small_env.wait()
    small_env.client.put("/api/v1/sets/tiny-net", content=TINY_SET_V2, headers=auth(course.prof))
    job = small_env.client.post("/api/v1/sets/tiny-net/regrades", headers=auth(course.prof)).json()
    small_env.wait()
    done = small_env.client.get(f"/api/v1/sets/tiny-net/regrades/{job['id']}", headers=auth(course.prof)).json()
    assert done["finished"] and done["done"] == 1 and done["failed"] == 1
    with small_env.factory() as session:
        errors = [g.error for g in session.scalars(select(Grade).where(Grade.error.is_not(None)))]
    assert len(errors) == 2 and all("a grade may store" in e for e in errors)


def test_what_a_submission_stores_is_measured_as_read(env: Env, course: Course) -> None:
    """The bound applies to the answers as read, so a short file of plain answers is far below it."""
    text = yaml.safe_dump({"problem_set": "tiny-net", "student": "alice", "answers": {"q1": {"z": 1.1}}})
    response = env.client.post("/api/v1/sets/tiny-net/submissions", content=text, headers=auth(course.alice))
    assert response.status_code == 202
    with env.factory() as session:
        parsed = session.scalars(select(Submission.parsed)).one()
    assert json_size(parsed) < 200
