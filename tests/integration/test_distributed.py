"""The distributed setup for real: PostgreSQL, Redis, ``grader worker`` processes."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from grader.service.models import Grade, ProblemSet, RegradeJob, Submission
from grader.service.store.jobs import start_regrade
from tests.integration.conftest import Cluster
from tests.integration.harness import wait_for
from tests.service.builders import add_user, answers_text, auth, enrol, upload
from tests.workers.world import make_world


def test_a_submission_goes_in_and_its_grade_comes_out(cluster: Cluster, factory: sessionmaker[Session]) -> None:
    cluster.worker()
    with cluster.client() as client:
        prof = add_user(factory, "prof", "instructor")
        alice = add_user(factory, "alice", "student")
        upload(client, prof)
        enrol(client, prof, "tiny-net", "alice")
        response = client.post("/api/v1/sets/tiny-net/submissions", content=answers_text("alice"),
                               headers=auth(alice))
        assert response.status_code == 202
        url = response.headers["location"]

        def graded() -> bool:
            return bool(client.get(url, headers=auth(alice)).json()["status"] == "graded")

        wait_for("the grade", graded, describe=cluster.workers[0].tail)
        body = client.get(url, headers=auth(alice)).json()
        assert body["grade"]["score"] == 6.0 and body["grade"]["current"] is True


def _regrade(factory: sessionmaker[Session], set_id: int) -> int:
    with factory() as session:
        problem_set = session.get(ProblemSet, set_id)
        assert problem_set is not None
        job, _ = start_regrade(session, problem_set=problem_set, user=None)
        session.commit()
        return job.id


def _job(factory: sessionmaker[Session], job_id: int) -> RegradeJob:
    with factory() as session:
        job = session.get(RegradeJob, job_id)
        assert job is not None
        return job


def _grades_per_submission(factory: sessionmaker[Session], version_id: int) -> dict[int, int]:
    with factory() as session:
        rows = session.execute(select(Submission.id, func.count(Grade.id)).outerjoin(
            Grade, (Grade.submission_id == Submission.id) & (Grade.set_version_id == version_id))
            .group_by(Submission.id)).all()
    return {sid: count for sid, count in rows}


def test_a_regrade_of_a_thousand_submissions_completes(cluster: Cluster, factory: sessionmaker[Session]) -> None:
    world = make_world(factory, 1000, bad=3)
    cluster.worker()
    cluster.worker()
    job_id = _regrade(factory, world.set_id)
    assert cluster.dispatcher().regrade(job_id)
    wait_for("the regrade", lambda: _job(factory, job_id).finished_at is not None, every=0.2,
             describe=lambda: f"{_job(factory, job_id).done} done; " + cluster.workers[0].tail(10))
    job = _job(factory, job_id)
    assert (job.total, job.done, job.failed, job.pending) == (1000, 997, 3, 0)
    assert set(_grades_per_submission(factory, world.version_id).values()) == {1}


def test_a_worker_killed_mid_regrade_leaves_every_submission_graded_exactly_once(
        cluster: Cluster, factory: sessionmaker[Session]) -> None:
    world = make_world(factory, 2000)
    worker = cluster.worker()
    job_id = _regrade(factory, world.set_id)
    assert cluster.dispatcher().regrade(job_id)
    wait_for("the regrade to be under way", lambda: _job(factory, job_id).done >= 100, every=0.01,
             describe=worker.tail)
    worker.kill()
    killed_at = _job(factory, job_id)
    assert killed_at.finished_at is None, "the regrade finished before the worker could be killed"
    cluster.worker()  # restarted: it takes the queue, and the killed one's unacked chunk comes back to it
    wait_for("the regrade", lambda: _job(factory, job_id).finished_at is not None, every=0.2,
             describe=lambda: f"{_job(factory, job_id).done} done; " + cluster.workers[-1].tail(10))
    job = _job(factory, job_id)
    assert (job.total, job.done, job.failed, job.pending) == (2000, 2000, 0, 0)
    per_submission = _grades_per_submission(factory, world.version_id)
    assert len(per_submission) == 2000 and set(per_submission.values()) == {1}
    with factory() as session:
        errors = session.scalar(select(func.count()).select_from(Grade).where(Grade.error.is_not(None)))
    assert errors == 0


def test_submissions_accepted_while_redis_is_down_are_graded_after_it_returns(
        cluster: Cluster, factory: sessionmaker[Session]) -> None:
    worker = cluster.worker(GRADER_SWEEP_AGE="2")
    with cluster.client() as client:
        prof = add_user(factory, "prof", "instructor")
        tokens = {name: add_user(factory, name, "student") for name in ("alice", "bob", "carol")}
        upload(client, prof)
        enrol(client, prof, "tiny-net", *tokens)
        cluster.redis.stop()
        try:
            for name, token in tokens.items():
                response = client.post("/api/v1/sets/tiny-net/submissions", content=answers_text(name),
                                       headers=auth(token))
                assert response.status_code == 202, response.text
            with factory() as session:
                assert session.scalar(select(func.count()).select_from(Submission)) == 3
                assert session.scalar(select(func.count()).select_from(Grade)) == 0
        finally:
            cluster.redis.start()

        def all_graded() -> bool:
            with factory() as session:
                return session.scalar(select(func.count()).select_from(Grade)) == 3

        wait_for("the sweep to grade what arrived while Redis was down", all_graded, every=0.2,
                 describe=worker.tail)
        with factory() as session:
            scores = session.scalars(select(Grade.score)).all()
        assert scores == [6.0, 6.0, 6.0]


def test_the_worker_healthcheck_asks_the_worker_itself(cluster: Cluster) -> None:
    import subprocess
    import sys
    import uuid

    name = f"health-{uuid.uuid4().hex[:8]}@%h"

    def ping(**env: str) -> subprocess.CompletedProcess[str]:
        import os

        return subprocess.run([sys.executable, "-m", "grader.cli", "worker", "--ping", "--timeout", "2"],
                              env={**os.environ, **cluster.env, **env}, capture_output=True, text=True, timeout=60)

    assert ping(GRADER_WORKER_NAME=name).returncode == 1  # no such worker yet
    cluster.worker(GRADER_WORKER_NAME=name)
    answered = ping(GRADER_WORKER_NAME=name)
    assert answered.returncode == 0 and "answered" in answered.stdout, answered.stderr
    other = ping(GRADER_WORKER_NAME="someone-else@%h")
    assert other.returncode == 1 and "no answer from someone-else@" in other.stderr
    cluster.redis.stop()
    try:
        assert ping(GRADER_WORKER_NAME=name).returncode == 1  # the broker is gone: not healthy
    finally:
        cluster.redis.start()
