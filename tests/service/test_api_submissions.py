"""Submissions: stored as received, graded in-process, readable by their student and the set's instructor."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from grader.service.models import Grade, Submission
from tests.service.builders import TINY_ANSWERS, answers_text, auth
from tests.service.conftest import Course, Env


def _count(env: Env) -> int:
    with env.factory() as session:
        return session.scalar(select(func.count()).select_from(Submission)) or 0


def _submit(env: Env, token: str, text: str) -> dict[str, object]:
    response = env.client.post("/api/v1/sets/tiny-net/submissions", content=text, headers=auth(token))
    assert response.status_code == 202, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_submission_is_stored_then_graded_with_feedback(env: Env, course: Course) -> None:
    answers = dict(TINY_ANSWERS)
    answers["q2"] = {"z": -2.0, "h": -2.0}  # h wrong: relu(-2) is 0
    text = answers_text("alice", answers)
    queued = _submit(env, course.alice, text)
    assert queued["status"] == "queued" and queued["version"] == 1
    env.wait()
    response = env.client.get(f"/api/v1/submissions/{queued['id']}", headers=auth(course.alice))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "graded" and body["answers"] == text
    grade = body["grade"]
    assert grade["score"] == 5.0 and grade["max_score"] == 6.0 and grade["current"] is True
    parts = {p["quantity"]: p for p in grade["result"]["problems"][1]["parts"]}
    assert parts["h"]["verdict"] == "incorrect" and parts["h"]["feedback"]
    assert grade["result"]["student"] == "alice"


def test_the_answers_are_kept_exactly_as_sent(env: Env, course: Course) -> None:
    text = "# my answers\nproblem_set: tiny-net\nstudent: alice\nanswers:\n  q1: {z: 1.10}   # rounded\n"
    queued = _submit(env, course.alice, text)
    env.wait()
    with env.factory() as session:
        assert session.get(Submission, queued["id"]).answers == text  # type: ignore[union-attr]
    json_text = '{"problem_set": "tiny-net", "student": "alice", "answers": {"q2": {"z": -2, "h": 0}}}'
    second = _submit(env, course.alice, json_text)
    env.wait()
    body = env.client.get(f"/api/v1/submissions/{second['id']}", headers=auth(course.alice)).json()
    assert body["answers"] == json_text and body["grade"]["score"] == 2.0


BAD_ANSWERS = [
    ("problem_set: tiny-net\nstudent: alice\nanswers: [\n", 422, "not valid YAML"),
    ("problem_set: tiny-net\nanswers: {}\n", 422, "student is missing"),
    ("problem_set: tiny-net\nstudent: alice\nanswers: 7\n", 422, "answers must map"),
    ("problem_set: tiny-net\nstudent: alice\nextra: 1\n", 422, "unknown key 'extra'"),
    (answers_text("alice", problem_set="other-net"), 422, "'other-net', not 'tiny-net'"),
    (answers_text("bob"), 403, "signed by student 'bob'"),
    (answers_text("alice", {"q9": {"z": 1}}), 422, "has no problem 'q9'"),
]


@pytest.mark.parametrize(("text", "status", "words"), BAD_ANSWERS)
def test_bad_answers_are_refused_clearly_and_nothing_is_stored(env: Env, course: Course, text: str, status: int,
                                                               words: str) -> None:
    response = env.client.post("/api/v1/sets/tiny-net/submissions", content=text, headers=auth(course.alice))
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert _count(env) == 0


def test_who_may_submit(env: Env, course: Course) -> None:
    cases = [(course.carol, 403, "not enrolled"), (course.prof, 403, "only students")]
    for token, status, words in cases:
        response = env.client.post("/api/v1/sets/tiny-net/submissions", content=answers_text("carol"),
                                   headers=auth(token))
        assert response.status_code == status
        assert words in response.json()["detail"]
    missing = env.client.post("/api/v1/sets/no-set/submissions", content=answers_text("alice"),
                              headers=auth(course.alice))
    assert missing.status_code == 404
    assert _count(env) == 0


def test_students_see_only_their_own_work(env: Env, course: Course) -> None:
    mine = _submit(env, course.alice, answers_text("alice"))
    _submit(env, course.bob, answers_text("bob"))
    env.wait()
    listing = env.client.get("/api/v1/sets/tiny-net/submissions", headers=auth(course.alice)).json()
    assert [s["student"] for s in listing] == ["alice"] and listing[0]["score"] == 6.0
    assert env.client.get(f"/api/v1/submissions/{mine['id']}", headers=auth(course.bob)).status_code == 403
    others = env.client.get("/api/v1/sets/tiny-net/submissions?student=bob", headers=auth(course.alice))
    assert others.status_code == 403
    assert env.client.get(f"/api/v1/submissions/{mine['id']}", headers=auth(course.other_prof)).status_code == 403
    assert env.client.get("/api/v1/submissions/999999", headers=auth(course.alice)).status_code == 404
    bad_id = env.client.get("/api/v1/submissions/abc", headers=auth(course.alice))
    assert bad_id.status_code == 422 and "path parameter 'submission_id'" in bad_id.json()["detail"]


def test_the_instructor_sees_everyones_submissions(env: Env, course: Course) -> None:
    first = _submit(env, course.alice, answers_text("alice", {"q1": {"z": 1.1}}))
    _submit(env, course.bob, answers_text("bob"))
    env.wait()
    listing = env.client.get("/api/v1/sets/tiny-net/submissions", headers=auth(course.prof)).json()
    assert sorted(s["student"] for s in listing) == ["alice", "bob"]
    only = env.client.get("/api/v1/sets/tiny-net/submissions?student=alice", headers=auth(course.prof)).json()
    assert [s["id"] for s in only] == [first["id"]] and only[0]["score"] == 1.0
    page = env.client.get("/api/v1/sets/tiny-net/submissions?limit=1", headers=auth(course.prof)).json()
    assert len(page) == 1
    assert env.client.get("/api/v1/sets/tiny-net/submissions?limit=0", headers=auth(course.prof)).status_code == 422
    unknown = env.client.get("/api/v1/sets/tiny-net/submissions?student=zed", headers=auth(course.prof))
    assert unknown.status_code == 404
    body = env.client.get(f"/api/v1/submissions/{first['id']}", headers=auth(course.prof)).json()
    assert body["student"] == "alice" and body["grade"]["score"] == 1.0


def test_each_submission_is_graded_once_per_version(env: Env, course: Course) -> None:
    queued = _submit(env, course.alice, answers_text("alice"))
    env.wait()
    env.dispatcher.grade(int(queued["id"]), 1)  # handed over again, as after a redelivery or a sweep
    env.wait()
    with env.factory() as session:
        assert session.scalar(select(func.count()).select_from(Grade)) == 1


def test_answers_json_cannot_hold_are_graded_from_the_text(env: Env, course: Course) -> None:
    text = "problem_set: tiny-net\nstudent: alice\nanswers:\n  q1: {z: 2001-12-14, p: .nan}\n  q2: {z: -2, h: 0}\n"
    queued = _submit(env, course.alice, text)
    env.wait()
    with env.factory() as session:
        assert session.get(Submission, queued["id"]).parsed is None  # type: ignore[union-attr]
    body = env.client.get(f"/api/v1/submissions/{queued['id']}", headers=auth(course.alice)).json()
    assert body["status"] == "graded" and body["grade"]["score"] == 2.0
