"""Fair grading in the embedded setup: one student's backlog never holds another student's grade back."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from grader.service.dispatch import FairQueue
from grader.service.models import Grade
from tests.service.builders import add_user, auth, enrol, upload
from tests.service.conftest import Env

BOUND = 1.0  # the set's time_limit: each of A's answers runs until it
SLOW_SET = f"""\
id: slow-set
problems:
  - id: d
    kind: expression
    title: Derivative of the sigmoid
    variables: {{x: real}}
    answer: diff(sigmoid(x), x)
    time_limit: {BOUND}
"""
HOSTILE = "sum(sigma(x)*(1-sigma(x))*exp(x)/exp(x), k, 1, 99999)/99999"  # undecided, at the bound


def _answers(student: str, formula: str) -> str:
    return f"problem_set: slow-set\nstudent: {student}\nanswers:\n  d: '{formula}'\n"


def _graded(env: Env, ids: list[int]) -> int:
    with env.factory() as session:
        return session.scalar(select(func.count()).select_from(Grade).where(Grade.submission_id.in_(ids))) or 0


def test_the_queue_serves_the_lane_served_longest_ago() -> None:
    q = FairQueue()
    for k in range(5):
        q.put("a", lambda k=k: ("a", k))
    first = q.get()
    assert first is not None and first() == ("a", 0)  # a's first is being worked on ...
    q.put("b", lambda: ("b", 0))  # ... when b's arrives: it is next, ahead of a's other four
    order = []
    for _ in range(5):
        item = q.get()
        assert item is not None
        order.append(item())
        if item() == ("b", 0):
            q.put("b", lambda: ("b", 1))  # b again, while a waits: a's turn comes first
    assert order == [("b", 0), ("a", 1), ("b", 1), ("a", 2), ("a", 3)]


def test_join_waits_for_work_in_every_lane_and_close_lets_the_worker_finish() -> None:
    q = FairQueue()
    done: list[str] = []

    def worker() -> None:
        while (item := q.get()) is not None:
            item()
            q.task_done()

    for lane in ("a", "b", "a"):
        q.put(lane, lambda lane=lane: done.append(lane))
    thread = threading.Thread(target=worker)
    thread.start()
    q.join()
    assert sorted(done) == ["a", "a", "b"]
    q.close()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_twenty_slow_answers_do_not_delay_another_students_grade(env: Env) -> None:
    """A submits 20 answers that each take the whole check bound; then B submits a right one.

    Round robin hands B's submission to the grader as soon as A's current check ends, so B's grade is
    stored within one bound (A's check in progress) plus B's own check. In first-come order it would wait
    for all twenty (20 s). The time is asserted with 2 s of slack for a loaded machine; the count of A's
    grades stored meanwhile is the same claim without a clock.
    """
    prof, a, b = (add_user(env.factory, n, r) for n, r in (("prof", "instructor"), ("ann", "student"),
                                                           ("ben", "student")))
    upload(env.client, prof, SLOW_SET)
    enrol(env.client, prof, "slow-set", "ann", "ben")
    url = "/api/v1/sets/slow-set/submissions"
    ann = []
    for _ in range(20):
        response = env.client.post(url, content=_answers("ann", HOSTILE), headers=auth(a))
        assert response.status_code == 202
        ann.append(int(response.json()["id"]))
    before = _graded(env, ann)
    start = time.monotonic()
    response = env.client.post(url, content=_answers("ben", "sigma(x)*(1 - sigma(x))"), headers=auth(b))
    assert response.status_code == 202
    ben = int(response.json()["id"])
    deadline = start + 30 * BOUND  # a bound on waiting, far beyond what is asserted below
    while time.monotonic() < deadline:
        body = env.client.get(f"/api/v1/submissions/{ben}", headers=auth(b)).json()
        if body["status"] != "queued":
            break
        time.sleep(0.02)
    waited = time.monotonic() - start
    overtaken = _graded(env, ann) - before
    assert body["status"] == "graded" and body["grade"]["score"] == 1.0
    # graded meanwhile: the one in progress when B's arrived (and one more if it ended between the count
    # and B's request); under first come first served, all that were left of the 20
    assert overtaken <= 2, overtaken
    assert waited < BOUND + 2.0, f"B waited {waited:.2f} s"
    env.wait()
    with env.factory() as session:
        verdicts = [g.result["problems"][0]["parts"][0]["verdict"] for g in session.scalars(select(Grade))
                    if g.submission_id in ann and g.result]
    assert verdicts == ["undecided"] * 20  # each of A's answers ran to its bound and was flagged
