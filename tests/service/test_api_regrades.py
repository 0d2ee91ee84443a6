"""Regrades: a new version, a regrade against it, its progress; grades as JSON and CSV."""

from __future__ import annotations

import csv
import io

import pytest

from grader.service.store.jobs import start_regrade
from grader.service.store.sets import get_set
from grader.service.store.submissions import create_submission
from grader.service.store.users import get_user
from tests.service.builders import TINY_SET_V2, answers_text, auth
from tests.service.conftest import Course, Env


def _submit_all(env: Env, course: Course) -> None:
    for token, name, answers in ((course.alice, "alice", None), (course.bob, "bob", {"q2": {"z": -2.0, "h": 0}})):
        response = env.client.post("/api/v1/sets/tiny-net/submissions", content=answers_text(name, answers),
                                   headers=auth(token))
        assert response.status_code == 202
    env.wait()


@pytest.mark.parametrize("mode", ["batch", "single"])
def test_a_regrade_grades_every_submission_against_the_new_version(env: Env, course: Course, mode: str) -> None:
    _submit_all(env, course)
    env.client.put("/api/v1/sets/tiny-net", content=TINY_SET_V2, headers=auth(course.prof))
    stale = env.client.get("/api/v1/sets/tiny-net/submissions", headers=auth(course.alice)).json()
    assert stale[0]["max_score"] == 6.0  # still the version-1 grade
    response = env.client.post("/api/v1/sets/tiny-net/regrades", json={"mode": mode}, headers=auth(course.prof))
    assert response.status_code == 202
    job = response.json()
    assert job["version"] == 2 and job["total"] == 2 and job["mode"] == mode
    env.wait()
    done = env.client.get(response.headers["location"], headers=auth(course.prof)).json()
    assert (done["done"], done["failed"], done["pending"], done["finished"]) == (2, 0, 0, True)
    fresh = env.client.get("/api/v1/sets/tiny-net/submissions", headers=auth(course.alice)).json()
    assert fresh[0]["max_score"] == 10.0 and fresh[0]["score"] == 10.0
    jobs = env.client.get("/api/v1/sets/tiny-net/regrades", headers=auth(course.prof)).json()
    assert [j["id"] for j in jobs] == [job["id"]]


def test_a_regrade_of_graded_work_finishes_at_once(env: Env, course: Course) -> None:
    _submit_all(env, course)
    job = env.client.post("/api/v1/sets/tiny-net/regrades", headers=auth(course.prof)).json()
    assert (job["total"], job["done"], job["finished"]) == (2, 2, True)


def test_starting_twice_while_running_returns_the_same_job(env: Env, course: Course) -> None:
    with env.factory() as session:
        problem_set = get_set(session, name="tiny-net")
        alice = get_user(session, name="alice")
        assert problem_set is not None and alice is not None
        create_submission(session, problem_set=problem_set, student=alice, text=answers_text("alice"))
        session.commit()  # stored but never handed over: as when the broker is down
        first, created = start_regrade(session, problem_set=problem_set, user=None)
        session.commit()
        second, again = start_regrade(session, problem_set=problem_set, user=None)
    assert created and not again and second.id == first.id
    assert (first.total, first.done, first.finished_at) == (1, 0, None)


def test_regrade_roles_and_bad_input(env: Env, course: Course) -> None:
    assert env.client.post("/api/v1/sets/tiny-net/regrades", headers=auth(course.alice)).status_code == 403
    assert env.client.post("/api/v1/sets/tiny-net/regrades", headers=auth(course.other_prof)).status_code == 403
    bad = env.client.post("/api/v1/sets/tiny-net/regrades", json={"mode": "fast"}, headers=auth(course.prof))
    assert bad.status_code == 422 and "body field 'mode'" in bad.json()["detail"]
    assert env.client.get("/api/v1/sets/tiny-net/regrades/4242", headers=auth(course.prof)).status_code == 404
    assert env.client.get("/api/v1/sets/tiny-net/regrades", headers=auth(course.bob)).status_code == 403


def test_grades_csv_has_one_row_per_student_and_a_column_per_problem(env: Env, course: Course) -> None:
    _submit_all(env, course)
    env.client.post("/api/v1/sets/tiny-net/students", json={"students": ["carol"]}, headers=auth(course.prof))
    response = env.client.get("/api/v1/sets/tiny-net/grades.csv", headers=auth(course.prof))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "tiny-net-grades.csv" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "tiny-net: q1", "tiny-net: q2",
                       "tiny-net: total"]
    assert rows[1:] == [["alice", "", "", "alice", "", "4", "2", "6"], ["bob", "", "", "bob", "", "0", "2", "2"],
                        ["carol", "", "", "carol", "", "", "", ""]]
    as_json = env.client.get("/api/v1/sets/tiny-net/grades", headers=auth(course.prof)).json()
    assert [r["total"] for r in as_json["rows"]] == [6.0, 2.0, None]
    assert as_json["rows"][1]["scores"] == {"q1": 0.0, "q2": 2.0}
    assert env.client.get("/api/v1/sets/tiny-net/grades.csv", headers=auth(course.alice)).status_code == 403


def test_the_csv_uses_each_students_newest_submission(env: Env, course: Course) -> None:
    _submit_all(env, course)
    env.client.post("/api/v1/sets/tiny-net/submissions", content=answers_text("alice", {"q1": {"z": 1.1}}),
                    headers=auth(course.alice))
    env.wait()
    rows = list(csv.reader(io.StringIO(env.client.get("/api/v1/sets/tiny-net/grades.csv",
                                                      headers=auth(course.prof)).text)))
    assert rows[1] == ["alice", "", "", "alice", "", "1", "0", "1"]
