"""Lone surrogates through the API: refused at input with where they are, and anything already stored (or a
set whose file escapes one) read back without a 500, by the student and the instructor."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import func, select, text

from grader.service.models import Grade, SetVersion, Submission
from tests.service.builders import TINY_SET, answers_text, auth
from tests.service.conftest import Course, Env
from tests.service.test_api_errors import assert_error

LONE = "\ud800"


def _count(env: Env, model: type) -> int:
    with env.factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_answers_holding_a_lone_surrogate_are_refused_and_nothing_is_stored(env: Env, course: Course) -> None:
    for answers in ({"q1": {"z": LONE}}, {"q1": {"z": "1", "p": "ok\udc65"}}, {"q1": {"z\ud800": 1}}):
        body = json.dumps({"problem_set": "tiny-net", "student": "alice", "answers": answers})  # \ud800 escapes
        assert "\\ud" in body
        response = env.client.post("/api/v1/sets/tiny-net/submissions", content=body, headers=auth(course.alice))
        refused = assert_error(response, 422)
        assert "U+D" in refused["detail"] or "surrogate" in refused["detail"].lower(), refused
    assert _count(env, Submission) == 0


def test_a_surrogate_pair_written_as_escapes_is_the_character(env: Env, course: Course) -> None:
    body = '{"problem_set": "tiny-net", "student": "alice", "answers": {"q1": {"z": "\\ud835\\udc65"}}}'
    response = env.client.post("/api/v1/sets/tiny-net/submissions", content=body, headers=auth(course.alice))
    assert response.status_code == 202, response.text
    env.wait()
    with env.factory() as session:
        assert session.scalars(select(Submission.parsed)).one()["answers"] == {"q1": {"z": "𝑥"}}
    read = env.client.get(response.headers["location"], headers=auth(course.alice))
    assert read.status_code == 200 and "𝑥" in json.dumps(read.json()["grade"], ensure_ascii=False)


def test_json_bodies_with_a_lone_surrogate_are_refused_naming_the_field(env: Env, course: Course) -> None:
    response = env.client.post("/api/v1/sets/tiny-net/students", content=b'{"students": ["bob", "x\\udfff"]}',
                               headers={**auth(course.prof), "Content-Type": "application/json"})
    body = assert_error(response, 422)
    assert body["errors"][0]["type"] == "lone_surrogate"
    assert "students[1] holds U+DFFF at character 2" in body["detail"]
    regrade = env.client.post("/api/v1/sets/tiny-net/regrades", content=b'{"mode": "batch", "x": "\\ud800"}',
                              headers={**auth(course.prof), "Content-Type": "application/json"})
    assert "x holds U+D800" in assert_error(regrade, 422)["detail"]


def test_a_set_that_escapes_a_lone_surrogate_is_refused(env: Env, course: Course) -> None:
    escaped = TINY_SET.replace("title: One sigmoid neuron", 'title: "One \\ud800 neuron"')
    response = env.client.put("/api/v1/sets/tiny-net", content=escaped, headers=auth(course.prof))
    body = assert_error(response, 422)
    assert "U+D800" in body["detail"] or "surrogate" in body["detail"].lower()
    assert _count(env, SetVersion) == 1


def store_unencodable(env: Env, course: Course) -> int:
    """A graded submission whose stored answers and result hold lone surrogates, and a set version whose file
    escapes one: as rows written before such input was refused (straight into SQLite's JSON text)."""
    sent = env.client.post("/api/v1/sets/tiny-net/submissions", content=answers_text("alice", {"q1": {"z": 1.1}}),
                           headers=auth(course.alice))
    env.wait()
    sid = int(sent.json()["id"])
    with env.factory() as session:
        parsed = {"problem_set": "tiny-net", "student": "alice", "answers": {"q1": {"z": f"1{LONE}", "p": "\udc80"}},
                  "lines": {"q1": 4}}
        grade = session.scalars(select(Grade)).one()
        result = dict(grade.result or {})
        result["problems"][0]["parts"][0]["submitted"] = f"x{LONE}"
        result["problems"][0]["title"] = f"t{LONE}"
        source = TINY_SET.replace("title: One sigmoid neuron", 'title: "One \\ud800 neuron"').replace(
            "statement: Compute", 'statement: "\\udc00 Compute')
        source = source.replace("one gradient.\n", 'one gradient."\n', 1)
        session.execute(text("UPDATE submissions SET parsed = :p WHERE id = :i"),
                        {"p": json.dumps(parsed), "i": sid})
        session.execute(text("UPDATE grades SET result = :r WHERE id = :i"), {"r": json.dumps(result), "i": grade.id})
        session.execute(text("UPDATE set_versions SET source = :s, sha256 = :h, problems = :pr"), {
            "s": source, "h": hashlib.sha256(source.encode()).hexdigest(),
            "pr": json.dumps([{"id": "q1", "title": f"One {LONE}", "kind": "network", "max_score": 4.0},
                              {"id": "q2", "title": "A ReLU unit", "kind": "network", "max_score": 2.0}])})
        session.commit()
        assert "\\ud800" in session.scalar(text("SELECT parsed FROM submissions"))
    return sid


def test_what_was_stored_before_reads_back_through_the_api(env: Env, course: Course) -> None:
    sid = store_unencodable(env, course)
    for token in (course.alice, course.prof):
        for url in (f"/api/v1/submissions/{sid}", "/api/v1/sets/tiny-net", "/api/v1/sets/tiny-net/submissions",
                    "/api/v1/sets/tiny-net/problems/q1" + ("" if token == course.alice else "?student=alice")):
            response = env.client.get(url, headers=auth(token))
            assert response.status_code == 200, (url, response.text)
            response.content.decode("utf-8")  # strict: valid UTF-8 throughout
    read = env.client.get(f"/api/v1/submissions/{sid}", headers=auth(course.prof)).json()
    assert read["grade"]["result"]["problems"][0]["parts"][0]["submitted"] == "x\ufffd"
    for url in ("/api/v1/sets/tiny-net/key", "/api/v1/sets/tiny-net/grades", "/api/v1/sets/tiny-net/grades.csv",
                "/api/v1/sets/tiny-net/source"):
        response = env.client.get(url, headers=auth(course.prof))
        assert response.status_code == 200, (url, response.text)
    # a clean resubmission, and a regrade of the old one, are stored and read back as well
    clean = env.client.post("/api/v1/sets/tiny-net/submissions", content=answers_text("alice"),
                            headers=auth(course.alice))
    assert clean.status_code == 202
    env.client.put("/api/v1/sets/tiny-net", content=TINY_SET.replace("A tiny", "Another tiny"),
                   headers=auth(course.prof))
    env.client.post("/api/v1/sets/tiny-net/regrades", headers=auth(course.prof))
    env.wait()
    for sub in (sid, clean.json()["id"]):
        again = env.client.get(f"/api/v1/submissions/{sub}", headers=auth(course.alice))
        assert again.status_code == 200 and again.json()["status"] == "graded", again.text
