"""Problem sets: upload, update, list, source, key and problem views, for each role; bad files change nothing."""

from __future__ import annotations

import pytest

from tests.service.builders import TINY_SET, TINY_SET_V2, add_user, auth, upload
from tests.service.conftest import BODY_LIMIT, Course, Env


def _sets(env: Env, token: str) -> list[dict[str, object]]:
    response = env.client.get("/api/v1/sets", headers=auth(token))
    assert response.status_code == 200
    result: list[dict[str, object]] = response.json()
    return result


def test_upload_creates_a_set_with_its_first_version(env: Env) -> None:
    prof = add_user(env.factory, "prof", "instructor")
    body = upload(env.client, prof)
    assert body["created"] is True and body["changed"] is True
    assert body["set"]["id"] == "tiny-net" and body["set"]["version"] == 1
    assert body["set"]["max_score"] == 6.0
    assert [p["id"] for p in body["set"]["problems"]] == ["q1", "q2"]
    assert [s["id"] for s in _sets(env, prof)] == ["tiny-net"]


def test_update_makes_a_new_version_and_the_same_file_changes_nothing(env: Env, course: Course) -> None:
    response = env.client.put("/api/v1/sets/tiny-net", content=TINY_SET_V2, headers=auth(course.prof))
    assert response.status_code == 200, response.text
    assert response.json()["changed"] is True and response.json()["set"]["version"] == 2
    assert response.json()["set"]["max_score"] == 10.0
    again = env.client.put("/api/v1/sets/tiny-net", content=TINY_SET_V2, headers=auth(course.prof))
    assert again.json()["changed"] is False and again.json()["set"]["version"] == 2
    versions = env.client.get("/api/v1/sets/tiny-net", headers=auth(course.prof)).json()["versions"]
    assert [v["number"] for v in versions] == [1, 2]


def test_posting_an_existing_set_is_a_conflict(env: Env, course: Course) -> None:
    response = env.client.post("/api/v1/sets", content=TINY_SET_V2, headers=auth(course.prof))
    assert response.status_code == 409
    assert "PUT" in response.json()["detail"]
    assert env.client.get("/api/v1/sets/tiny-net", headers=auth(course.prof)).json()["version"] == 1


BROKEN = [
    ("id: tiny-net\nproblems: [\n", "not valid YAML"),
    ("id: tiny-net\nproblems: 5\n", "problems must be a non-empty list"),
    ("- just\n- a list\n", ""),
    (TINY_SET.replace("z: w*x + b", "z: w*x + bogus"), "bogus"),
    (TINY_SET.replace("id: tiny-net", "id: Tiny Net"), "id"),
]


@pytest.mark.parametrize(("text", "words"), BROKEN)
def test_a_broken_file_is_refused_with_the_loaders_message_and_nothing_changes(
        env: Env, course: Course, text: str, words: str) -> None:
    before = env.client.get("/api/v1/sets/tiny-net", headers=auth(course.prof)).json()
    for method, url in (("PUT", "/api/v1/sets/tiny-net"), ("POST", "/api/v1/sets")):
        response = env.client.request(method, url, content=text, headers=auth(course.prof))
        assert response.status_code == 422, response.text
        body = response.json()
        assert words in body["detail"]
        if "error" in body:  # the loader's own error, with where it is
            assert body["detail"].startswith(body["error"]["file"])
            assert "line" in body["error"]
    assert env.client.get("/api/v1/sets/tiny-net", headers=auth(course.prof)).json() == before
    assert [s["id"] for s in _sets(env, course.prof)] == ["tiny-net"]


def test_the_loaders_message_names_the_line_and_field(env: Env, course: Course) -> None:
    text = TINY_SET.replace("z: w*x + b", "z: w*x + bogus")
    body = env.client.put("/api/v1/sets/tiny-net", content=text, headers=auth(course.prof)).json()
    assert body["error"]["problem"] == "q1"
    assert body["error"]["line"] == 11
    assert body["error"]["field"] == "forward.z"
    assert "bogus" in body["error"]["message"]


def test_put_with_a_file_for_another_set_is_refused(env: Env, course: Course) -> None:
    text = TINY_SET.replace("id: tiny-net", "id: other-net")
    response = env.client.put("/api/v1/sets/tiny-net", content=text, headers=auth(course.prof))
    assert response.status_code == 422
    assert "'other-net', not 'tiny-net'" in response.json()["detail"]


@pytest.mark.parametrize(("body", "status", "words"), [
    (b"", 422, "empty"),
    (b"   \n", 422, "empty"),
    (b"id: caf\xe9", 422, "not UTF-8"),
])
def test_unreadable_bodies_are_refused(env: Env, course: Course, body: bytes, status: int, words: str) -> None:
    response = env.client.put("/api/v1/sets/tiny-net", content=body, headers=auth(course.prof))
    assert response.status_code == status
    assert words in response.json()["detail"]


def test_an_oversized_body_is_413_whether_or_not_its_length_is_announced(env: Env, course: Course) -> None:
    big = TINY_SET + "#" * BODY_LIMIT
    response = env.client.put("/api/v1/sets/tiny-net", content=big, headers=auth(course.prof))
    assert response.status_code == 413
    assert f"at most {BODY_LIMIT}" in response.json()["detail"]

    def chunks() -> object:
        for _ in range(4):
            yield b"#" * (BODY_LIMIT // 2)

    streamed = env.client.put("/api/v1/sets/tiny-net", content=chunks(), headers=auth(course.prof))  # type: ignore[arg-type]
    assert streamed.status_code == 413
    assert env.client.get("/api/v1/sets/tiny-net", headers=auth(course.prof)).json()["version"] == 1


def test_students_cannot_upload_and_see_only_their_enrolled_sets(env: Env, course: Course) -> None:
    assert env.client.post("/api/v1/sets", content=TINY_SET, headers=auth(course.alice)).status_code == 403
    put = env.client.put("/api/v1/sets/tiny-net", content=TINY_SET_V2, headers=auth(course.alice))
    assert put.status_code == 403
    assert [s["id"] for s in _sets(env, course.alice)] == ["tiny-net"]
    assert _sets(env, course.carol) == []
    seen = env.client.get("/api/v1/sets/tiny-net", headers=auth(course.alice)).json()
    assert seen["versions"] is None and seen["owner"] is None
    assert env.client.get("/api/v1/sets/tiny-net", headers=auth(course.carol)).status_code == 403


def test_an_instructor_sees_and_changes_only_their_own_sets(env: Env, course: Course) -> None:
    assert _sets(env, course.other_prof) == []
    for path in ("", "/key", "/source", "/students", "/regrades", "/grades", "/grades.csv"):
        response = env.client.get(f"/api/v1/sets/tiny-net{path}", headers=auth(course.other_prof))
        assert response.status_code == 403, path
        assert "another instructor" in response.json()["detail"]
    put = env.client.put("/api/v1/sets/tiny-net", content=TINY_SET_V2, headers=auth(course.other_prof))
    assert put.status_code == 403
    post = env.client.post("/api/v1/sets", content=TINY_SET_V2, headers=auth(course.other_prof))
    assert post.status_code == 403


@pytest.mark.parametrize("path", ["", "/key", "/source", "/problems/q1", "/students", "/submissions",
                                  "/regrades", "/grades", "/grades.csv"])
def test_an_unknown_set_is_404(env: Env, course: Course, path: str) -> None:
    response = env.client.get(f"/api/v1/sets/no-such-set{path}", headers=auth(course.prof))
    assert response.status_code == 404
    assert "no problem set 'no-such-set'" in response.json()["detail"]


def test_source_returns_each_version_as_uploaded(env: Env, course: Course) -> None:
    env.client.put("/api/v1/sets/tiny-net", content=TINY_SET_V2, headers=auth(course.prof))
    current = env.client.get("/api/v1/sets/tiny-net/source", headers=auth(course.prof))
    assert current.text == TINY_SET_V2 and current.headers["content-type"].startswith("application/yaml")
    first = env.client.get("/api/v1/sets/tiny-net/source?version=1", headers=auth(course.prof))
    assert first.text == TINY_SET
    assert env.client.get("/api/v1/sets/tiny-net/source?version=7", headers=auth(course.prof)).status_code == 404
    bad = env.client.get("/api/v1/sets/tiny-net/source?version=zero", headers=auth(course.prof))
    assert bad.status_code == 422 and "query parameter 'version'" in bad.json()["detail"]
    assert env.client.get("/api/v1/sets/tiny-net/source", headers=auth(course.alice)).status_code == 403


def test_the_key_is_for_instructors_only(env: Env, course: Course) -> None:
    response = env.client.get("/api/v1/sets/tiny-net/key?problem=q1", headers=auth(course.prof))
    assert response.status_code == 200
    key = response.json()
    assert [p["id"] for p in key["problems"]] == ["q1"]
    values = {q["quantity"]: q["value"] for q in key["problems"][0]["quantities"]}
    assert values["z"] == pytest.approx(1.1)
    assert env.client.get("/api/v1/sets/tiny-net/key", headers=auth(course.alice)).status_code == 403
    missing = env.client.get("/api/v1/sets/tiny-net/key?problem=q9", headers=auth(course.prof))
    assert missing.status_code == 404 and "q9" in missing.json()["detail"]


def test_a_student_fetches_their_variant_of_a_problem_without_answers(env: Env, course: Course) -> None:
    response = env.client.get("/api/v1/sets/tiny-net/problems/q1", headers=auth(course.alice))
    assert response.status_code == 200
    view = response.json()
    assert view["id"] == "q1" and view["ask"] == ["z", "p", "L", "dL/dw"]
    assert view["given"] == {"x": 2.0, "y": 1.0}
    assert "quantities" not in view and "0.75026" not in response.text
    assert env.client.get("/api/v1/sets/tiny-net/problems/q9", headers=auth(course.alice)).status_code == 404
    other = env.client.get("/api/v1/sets/tiny-net/problems/q1?student=bob", headers=auth(course.alice))
    assert other.status_code == 403
    assert env.client.get("/api/v1/sets/tiny-net/problems/q1", headers=auth(course.carol)).status_code == 403
    as_prof = env.client.get("/api/v1/sets/tiny-net/problems/q1?student=bob", headers=auth(course.prof))
    assert as_prof.status_code == 200
