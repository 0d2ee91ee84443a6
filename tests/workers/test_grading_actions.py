"""The actions the tasks run, called directly (as Celery's guide advises), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from grader.problemset.source import AnswersError
from grader.service.grading import grade_chunk, grade_one, record_delivery
from grader.service.models import Delivery, ProblemSet, RegradeJob
from grader.service.store.jobs import start_regrade
from tests.service.builders import TINY_SET_V2
from tests.workers.world import grades, make_world, new_version


def test_grading_one_submission_twice_stores_one_grade(factory: sessionmaker[Session]) -> None:
    world = make_world(factory, 1)
    sid = world.submission_ids[0]
    assert grade_one(factory, submission_id=sid, version_id=world.version_id) == "graded"
    assert grade_one(factory, submission_id=sid, version_id=world.version_id) == "done-before"
    stored = grades(factory, world.version_id)
    assert len(stored) == 1 and stored[0].score == 1.0 and stored[0].max_score == 6.0
    assert stored[0].result is not None and stored[0].result["student"] == "s0"


def test_a_grading_error_is_stored_as_that_submissions_error(factory: sessionmaker[Session]) -> None:
    world = make_world(factory, 1, bad=1)
    assert grade_one(factory, submission_id=world.submission_ids[0], version_id=world.version_id) == "failed"
    (stored,) = grades(factory, world.version_id)
    assert stored.score is None and stored.result is None
    assert stored.error is not None and "AnswersError" in stored.error and "gone-set" in stored.error


def test_redeliveries_are_counted_and_given_up_after_the_limit(factory: sessionmaker[Session]) -> None:
    world = make_world(factory, 1)
    sid = world.submission_ids[0]
    key = f"s{sid}v{world.version_id}"
    # Two deliveries that died before storing anything (the worker was killed), as the count shows them.
    assert record_delivery(factory, key) == 1
    assert record_delivery(factory, key) == 2
    outcome = grade_one(factory, submission_id=sid, version_id=world.version_id, redelivered=True,
                        max_deliveries=3, time_limit=30)
    assert outcome == "failed"
    (stored,) = grades(factory, world.version_id)
    assert stored.error is not None and "abandoned after 3 attempts" in stored.error and "30 s" in stored.error
    with factory() as session:
        assert session.get(Delivery, key).count == 3  # type: ignore[union-attr]


def test_a_first_redelivery_still_grades(factory: sessionmaker[Session]) -> None:
    world = make_world(factory, 1)
    outcome = grade_one(factory, submission_id=world.submission_ids[0], version_id=world.version_id,
                        redelivered=True, max_deliveries=3)
    assert outcome == "graded"


def test_a_time_limit_becomes_a_stored_error(factory: sessionmaker[Session]) -> None:
    world = make_world(factory, 1, bad=1)
    # The bad submission raises AnswersError in grading; named as a limit, it stands for the time limit firing.
    outcome = grade_one(factory, submission_id=world.submission_ids[0], version_id=world.version_id,
                        time_limit=20, limits=(AnswersError,))
    assert outcome == "failed"
    (stored,) = grades(factory, world.version_id)
    assert stored.error == "grading took longer than 20 s"


def test_a_chunk_writes_its_grades_in_bulk_and_counts_them_into_the_job(factory: sessionmaker[Session]) -> None:
    world = make_world(factory, 5, bad=1)
    version = new_version(factory, TINY_SET_V2)
    with factory() as session:
        job, _ = start_regrade(session, problem_set=_set(session, world.set_id), user=None)
        session.commit()
    assert (job.total, job.done, job.failed) == (5, 0, 0)
    outcome = grade_chunk(factory, job_id=job.id, version_id=version, submission_ids=world.submission_ids[:3])
    assert (outcome.done, outcome.failed, outcome.skipped) == (3, 0, 0)
    again = grade_chunk(factory, job_id=job.id, version_id=version, submission_ids=world.submission_ids[:4])
    assert (again.done, again.failed, again.skipped) == (1, 0, 3)  # the first three were graded before
    rest = grade_chunk(factory, job_id=job.id, version_id=version, submission_ids=world.submission_ids[3:])
    assert (rest.done, rest.failed, rest.skipped) == (0, 1, 1)  # the bad one fails alone; the batch goes on
    with factory() as session:
        stored = session.get(RegradeJob, job.id)
        assert stored is not None
        assert (stored.done, stored.failed, stored.pending) == (4, 1, 0) and stored.finished_at is not None
    assert len(grades(factory, version)) == 5


def test_a_redelivered_chunk_is_split_into_single_submissions(factory: sessionmaker[Session]) -> None:
    world = make_world(factory, 3)
    with factory() as session:
        job, _ = start_regrade(session, problem_set=_set(session, world.set_id), user=None)
        session.commit()
    outcome = grade_chunk(factory, job_id=job.id, version_id=world.version_id, submission_ids=world.submission_ids,
                          redelivered=True)
    assert outcome.split == world.submission_ids and outcome.done == 0
    assert grades(factory, world.version_id) == []


def test_a_time_limit_in_a_chunk_splits_it(factory: sessionmaker[Session]) -> None:
    from grader.service.dispatch import InProcessDispatcher
    from grader.service.settings import Settings
    from grader.service.work import run_chunk

    world = make_world(factory, 3, bad=1)
    with factory() as session:
        job, _ = start_regrade(session, problem_set=_set(session, world.set_id), user=None)
        session.commit()
    dispatcher = InProcessDispatcher(factory, Settings(database_url="sqlite://"))
    dispatcher.start()
    try:
        outcome = run_chunk(factory, Settings(), dispatcher, job.id, world.version_id, world.submission_ids,
                            limits=(AnswersError,))
        dispatcher.wait_idle()
    finally:
        dispatcher.stop()
    assert outcome.split == world.submission_ids
    stored = grades(factory, world.version_id)  # graded one by one: two fine, the slow one given its error
    assert [g.error is None for g in stored] == [True, True, False]


def _set(session: Session, set_id: int) -> ProblemSet:
    found = session.scalar(select(ProblemSet).where(ProblemSet.id == set_id))
    assert found is not None
    return found


def test_answers_read_at_submission_grade_exactly_as_the_text(factory: sessionmaker[Session]) -> None:
    from grader.service.grading import grade_answers
    from grader.service.loaded import loaded_set
    from grader.service.models import SetVersion, Submission

    world = make_world(factory, 2)
    with factory() as session:
        submission = session.get(Submission, world.submission_ids[1])
        version = session.get(SetVersion, world.version_id)
        assert submission is not None and version is not None and submission.parsed is not None
        ps = loaded_set(version)
        from_text = grade_answers(ps, submission.id, submission.answers)
        from_parsed = grade_answers(ps, submission.id, submission.answers, parsed=submission.parsed)
    assert from_parsed.result == from_text.result and from_text.result is not None
