"""The pages' side of judging: hidden feedback on the problem page, the hourly limit on its form and setting."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from grader.service.models import ProblemSet, Submission
from tests.service.conftest import Course, Env
from tests.web.conftest import csrf_of


def _sign_in(client: TestClient, token: str) -> str:
    response = client.post("/signin", data={"token": token, "next": "/sets"}, follow_redirects=False)
    assert response.status_code == 303
    return csrf_of(client.get("/sets").text)


def _submit_z(env: Env, csrf: str, z: str) -> int:
    response = env.client.post("/sets/tiny-net/problems/q1", data={"csrf": csrf, "answer-0": z},
                               follow_redirects=False)
    return response.status_code


def test_the_instructor_sets_the_hourly_limit_on_the_set_page(env: Env, course: Course) -> None:
    csrf = _sign_in(env.client, course.prof)
    page = env.client.get("/sets/tiny-net")
    assert 'name="submissions_per_hour"' in page.text and "no hourly limit on submissions" in page.text
    bad = env.client.post("/sets/tiny-net/settings", data={"csrf": csrf, "submissions_per_hour": "lots"})
    assert bad.status_code == 422 and "must be a whole number" in bad.text and 'value="lots"' in bad.text
    saved = env.client.post("/sets/tiny-net/settings", data={"csrf": csrf, "submissions_per_hour": "2"},
                            follow_redirects=False)
    assert saved.status_code == 303
    assert "at most 2 submissions per student per hour" in env.client.get("/sets/tiny-net").text
    with env.factory() as session:
        problem_set = session.scalar(select(ProblemSet).where(ProblemSet.name == "tiny-net"))
        assert problem_set is not None and problem_set.submissions_per_hour == 2
        assert problem_set.show_expected is False  # the box was not ticked
    cleared = env.client.post("/sets/tiny-net/settings", data={"csrf": csrf, "submissions_per_hour": " "},
                              follow_redirects=False)
    assert cleared.status_code == 303
    with env.factory() as session:
        problem_set = session.scalar(select(ProblemSet).where(ProblemSet.name == "tiny-net"))
        assert problem_set is not None and problem_set.submissions_per_hour is None


def test_a_student_past_the_limit_sees_why_and_when_on_the_problem_page(env: Env, course: Course) -> None:
    prof = _sign_in(env.client, course.prof)
    env.client.post("/sets/tiny-net/settings", data={"csrf": prof, "submissions_per_hour": "2"})
    env.client.cookies.clear()
    csrf = _sign_in(env.client, course.alice)
    assert [_submit_z(env, csrf, "1.1") for _ in range(2)] == [303, 303]
    refused = env.client.post("/sets/tiny-net/problems/q1", data={"csrf": csrf, "answer-0": "1.1"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 3000
    assert "Not submitted: at most 2 submissions an hour" in refused.text
    assert 'value="1.1"' in refused.text  # what was typed is kept
    with env.factory() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 2
    env.wait()


def test_the_problem_page_tells_a_wrong_answer_only_its_direction_while_values_are_hidden(env: Env,
                                                                                       course: Course) -> None:
    csrf = _sign_in(env.client, course.alice)
    assert _submit_z(env, csrf, "1.25") == 303  # z is 1.1: 14% too large, in the same band
    env.wait()
    page = env.client.get("/sets/tiny-net/problems/q1").text
    assert "Not correct." in page and "off by" not in page and "%" not in page.split('id="feedback"')[1]
    assert _submit_z(env, csrf, "4.5") == 303
    env.wait()
    assert "Not correct: too large in magnitude." in env.client.get("/sets/tiny-net/problems/q1").text
    env.client.cookies.clear()
    prof = _sign_in(env.client, course.prof)
    env.client.post("/sets/tiny-net/settings", data={"csrf": prof, "show_expected": "on"})
    env.client.cookies.clear()
    _sign_in(env.client, course.alice)
    assert "off by" in env.client.get("/sets/tiny-net/problems/q1").text  # shown now, without a regrade
