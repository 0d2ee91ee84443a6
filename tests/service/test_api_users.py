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
