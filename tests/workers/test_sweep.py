"""The sweep: what the database says is ungraded is handed out again, by one process per round."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from grader.service.db import utcnow
from grader.service.dispatch import InProcessDispatcher
from grader.service.models import ProblemSet, RegradeJob, ServiceLock, Submission
from grader.service.settings import Settings
from grader.service.store.jobs import start_regrade
from grader.service.sweep import SWEEP_LOCK, claim, sweep
from tests.service.builders import TINY_SET_V2
from tests.workers.world import grades, make_world, new_version


def _age(factory: sessionmaker[Session], seconds: float) -> None:
    """Make every stored submission and job look ``seconds`` old."""
    past = utcnow() - timedelta(seconds=seconds)
    with factory() as session, session.begin():
        session.execute(update(Submission).values(created_at=past))
        session.execute(update(RegradeJob).values(progress_at=past))


def _sweep(factory: sessionmaker[Session], settings: Settings) -> tuple[int, int]:
    dispatcher = InProcessDispatcher(factory, settings)
    dispatcher.start()
    try:
        report = sweep(factory, settings, dispatcher)
        dispatcher.wait_idle()
    finally:
        dispatcher.stop()
    return report.submissions, report.jobs


def test_old_ungraded_submissions_are_graded_and_young_ones_left(factory: sessionmaker[Session]) -> None:
    world = make_world(factory, 3)
    settings = Settings(sweep_age=60)
    assert _sweep(factory, settings) == (0, 0)  # just submitted: presumably still in the queue
    _age(factory, 120)
    assert _sweep(factory, settings) == (3, 0)
    assert len(grades(factory, world.version_id)) == 3
    assert _sweep(factory, settings) == (0, 0)  # nothing left


def test_a_stalled_regrade_is_handed_out_again_and_finishes(factory: sessionmaker[Session]) -> None:
    world = make_world(factory, 3)
    version = new_version(factory, TINY_SET_V2)
    with factory() as session:
        problem_set = session.get(ProblemSet, world.set_id)
        assert problem_set is not None
        job, _ = start_regrade(session, problem_set=problem_set, user=None)
        session.commit()  # and its tasks were lost
    _age(factory, 120)
    settings = Settings(sweep_age=60)
    assert _sweep(factory, settings) == (3, 1)  # the submissions' own first grading, and the regrade
    assert len(grades(factory, version)) == 3
    with factory() as session:
        stored = session.get(RegradeJob, job.id)
        assert stored is not None and stored.finished_at is not None and stored.done == 3


def test_one_process_per_round_wins_the_sweep(factory: sessionmaker[Session]) -> None:
    assert claim(factory, SWEEP_LOCK, 30) is True
    assert claim(factory, SWEEP_LOCK, 30) is False
    with factory() as session, session.begin():
        session.execute(update(ServiceLock).values(at=utcnow() - timedelta(seconds=31)))
    assert claim(factory, SWEEP_LOCK, 30) is True
    assert claim(factory, SWEEP_LOCK, 30) is False
