"""Authentication: bearer tokens, and who the caller is."""

from __future__ import annotations

import pytest

from tests.service.builders import add_user, auth
from tests.service.conftest import Env


def test_me_names_the_token_holder(env: Env) -> None:
    token = add_user(env.factory, "alice", "student")
    response = env.client.get("/api/v1/users/me", headers=auth(token))
    assert response.status_code == 200
    assert response.json() == {"name": "alice", "role": "student"}


@pytest.mark.parametrize(("headers", "message"), [
    ({}, "send your token"),
    ({"Authorization": "Bearer grd_not-a-real-token"}, "not valid"),
    ({"Authorization": "Basic YWxpY2U6cHc="}, "send your token"),
    ({"Authorization": "Bearer"}, "send your token"),
])
def test_a_missing_or_wrong_token_is_401_with_a_reason(env: Env, headers: dict[str, str], message: str) -> None:
    add_user(env.factory, "alice", "student")
    response = env.client.get("/api/v1/users/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert message in response.json()["detail"]


def test_tokens_are_stored_hashed(env: Env) -> None:
    token = add_user(env.factory, "alice", "student")
    from sqlalchemy import select

    from grader.service.models import User

    with env.factory() as session:
        stored = session.scalar(select(User.token_hash).where(User.name == "alice"))
    assert stored is not None and token not in stored and len(stored) == 64


def test_an_instructor_adds_users_and_gets_their_tokens_once(env: Env) -> None:
    from tests.service.builders import upload

    prof = add_user(env.factory, "prof", "instructor")
    upload(env.client, prof)
    body = {"users": [{"user": "ann", "email": "ann@uni.edu", "name": "Ann"}, {"user": "Ben"}], "enrol": ["tiny-net"]}
    response = env.client.post("/api/v1/users", json=body, headers=auth(prof))
    assert response.status_code == 200, response.text
    made = response.json()
    assert made["enrolled"] == {"tiny-net": 2}
    tokens = {u["name"]: u["token"] for u in made["users"]}
    assert env.client.get("/api/v1/users/me", headers=auth(tokens["Ben"])).json() == {"name": "Ben",
                                                                                       "role": "student"}
    again = env.client.post("/api/v1/users", json={"users": [{"user": "ben"}]}, headers=auth(prof)).json()
    assert again["users"] == [{"name": "Ben", "role": "student", "outcome": "unchanged", "token": None}]
    roster = "user,role\ncid,student\nann,student\n"
    csv_made = env.client.post("/api/v1/users", content=roster, params={"enrol_in": "tiny-net"},
                               headers={**auth(prof), "Content-Type": "text/csv"}).json()
    assert [(u["name"], u["outcome"], u["token"] is not None) for u in csv_made["users"]] == [
        ("cid", "created", True), ("ann", "unchanged", False)]
    students = env.client.get("/api/v1/sets/tiny-net/students", headers=auth(prof)).json()["students"]
    assert students == ["Ben", "ann", "cid"]


def test_adding_users_is_refused_whole_with_each_problem_named(env: Env) -> None:
    prof = add_user(env.factory, "prof", "instructor")
    alice = add_user(env.factory, "alice", "student")
    bad = {"users": [{"user": "ok1"}, {"user": "=cmd"}, {"user": "OK1"}]}
    response = env.client.post("/api/v1/users", json=bad, headers=auth(prof))
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert [p["index"] for p in problems] == [1, 2] and "starts with '='" in problems[0]["message"]
    roster = env.client.post("/api/v1/users", content="user,role\nx,student\n\ny,student\n",
                             headers={**auth(prof), "Content-Type": "text/csv"})
    assert roster.status_code == 422 and roster.json()["problems"] == [
        {"line": 3, "message": "an empty row between rows: remove it (rows after it may have been meant to be "
                               "above it)"}]
    promote = env.client.post("/api/v1/users", json={"users": [{"user": "Alice", "role": "instructor"}]},
                              headers=auth(prof))
    assert promote.status_code == 409 and "only the server's administrator" in promote.json()["detail"]
    assert env.client.post("/api/v1/users", json={"users": [{"user": "z"}]}, headers=auth(alice)).status_code == 403
    me = env.client.get("/api/v1/users/me", headers=auth(prof))
    assert me.status_code == 200
    with env.factory() as session:
        from sqlalchemy import func, select

        from grader.service.models import User

        assert session.scalar(select(func.count()).select_from(User)) == 2
