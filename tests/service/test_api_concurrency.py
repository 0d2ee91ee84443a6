"""Uploads of one set at the same moment, from threads, on SQLite and PostgreSQL: one is stored, the others
get 409 (or find the file stored already), never a 500 from the unique keys."""

from __future__ import annotations

import threading

from tests.service.builders import TINY_SET, TINY_SET_V2, add_user, auth
from tests.service.conftest import Env

THREADS = 8


def _at_once(env: Env, method: str, url: str, text: str, token: str) -> list[int]:
    codes: list[int] = []
    start = threading.Barrier(THREADS)

    def send() -> None:
        start.wait()
        codes.append(env.client.request(method, url, content=text, headers=auth(token)).status_code)

    threads = [threading.Thread(target=send) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(codes) == THREADS
    return codes


def _versions(env: Env, token: str) -> list[int]:
    return [v["number"] for v in env.client.get("/api/v1/sets/tiny-net", headers=auth(token)).json()["versions"]]


def test_concurrent_uploads_of_one_set_store_it_once(both_env: Env) -> None:
    prof = add_user(both_env.factory, "prof", "instructor")
    created = _at_once(both_env, "post", "/api/v1/sets", TINY_SET, prof)
    assert sorted(created) == [201] + [409] * (THREADS - 1), created
    assert _versions(both_env, prof) == [1]

    changed = _at_once(both_env, "put", "/api/v1/sets/tiny-net", TINY_SET_V2, prof)
    assert set(changed) <= {200, 409} and 200 in changed, changed
    assert _versions(both_env, prof) == [1, 2]  # one new version, whatever the order

    renamed = TINY_SET_V2.replace("title: A tiny network", "title: A small network")
    again = _at_once(both_env, "put", "/api/v1/sets/tiny-net", renamed, prof)
    assert set(again) <= {200, 409} and 200 in again, again
    assert _versions(both_env, prof) == [1, 2, 3]
    conflict = both_env.client.put("/api/v1/sets/tiny-net", content=renamed, headers=auth(prof)).json()
    assert conflict["changed"] is False  # sent again after a 409: the file is the current version
