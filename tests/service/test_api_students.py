"""Enrolment: instructors add and remove students; each name sent is reported on."""

from __future__ import annotations

from tests.service.builders import auth
from tests.service.conftest import Course, Env


def _students(env: Env, token: str) -> list[str]:
    response = env.client.get("/api/v1/sets/tiny-net/students", headers=auth(token))
    assert response.status_code == 200
    result: list[str] = response.json()["students"]
    return result


def test_enrol_adds_new_students_once(env: Env, course: Course) -> None:
    response = env.client.post("/api/v1/sets/tiny-net/students", json={"students": ["carol", "alice", "carol"]},
                               headers=auth(course.prof))
    assert response.status_code == 200
    assert response.json() == {"added": 1, "students": ["alice", "bob", "carol"], "results": [
        {"name": "carol", "outcome": "enrolled", "detail": ""},
        {"name": "alice", "outcome": "already enrolled", "detail": ""}]}


def test_each_name_is_reported_and_the_students_among_them_enrolled(env: Env, course: Course) -> None:
    response = env.client.post("/api/v1/sets/tiny-net/students",
                               json={"students": ["CAROL", "nobody", "other", "Alice", "carol"]},
                               headers=auth(course.prof))
    assert response.status_code == 200
    body = response.json()
    assert body["added"] == 1 and body["students"] == ["alice", "bob", "carol"]
    assert [(r["name"], r["outcome"]) for r in body["results"]] == [
        ("carol", "enrolled"), ("nobody", "no such user"), ("other", "not a student"), ("alice", "already enrolled")]
    assert "instructor" in body["results"][2]["detail"]


def test_an_unknown_name_near_a_real_one_gets_a_suggestion(env: Env, course: Course) -> None:
    response = env.client.post("/api/v1/sets/tiny-net/students", json={"students": ["carl"]},
                               headers=auth(course.prof))
    assert response.json()["results"] == [{"name": "carl", "outcome": "no such user",
                                           "detail": "did you mean 'carol'?"}]
    assert _students(env, course.prof) == ["alice", "bob"]


def test_malformed_enrolment_bodies_say_what_is_wrong(env: Env, course: Course) -> None:
    cases = [({"students": []}, "body field 'students'"), ({"students": "alice"}, "body field 'students'"),
             ({}, "body field 'students'"), ([1, 2], "the body")]
    for body, words in cases:
        response = env.client.post("/api/v1/sets/tiny-net/students", json=body, headers=auth(course.prof))
        assert response.status_code == 422, body
        assert words in response.json()["detail"]
    raw = env.client.post("/api/v1/sets/tiny-net/students", content=b"{not json",
                          headers={**auth(course.prof), "Content-Type": "application/json"})
    assert raw.status_code == 422
    assert _students(env, course.prof) == ["alice", "bob"]


def test_unenrol_and_roles(env: Env, course: Course) -> None:
    assert env.client.delete("/api/v1/sets/tiny-net/students/bob", headers=auth(course.prof)).status_code == 204
    assert _students(env, course.prof) == ["alice"]
    again = env.client.delete("/api/v1/sets/tiny-net/students/bob", headers=auth(course.prof))
    assert again.status_code == 404
    assert env.client.delete("/api/v1/sets/tiny-net/students/nobody", headers=auth(course.prof)).status_code == 404
    assert env.client.get("/api/v1/sets/tiny-net/students", headers=auth(course.alice)).status_code == 403
    add = env.client.post("/api/v1/sets/tiny-net/students", json={"students": ["carol"]}, headers=auth(course.alice))
    assert add.status_code == 403
