"""The Celery app's wiring: settings it takes, tasks it knows, and each task run through Celery directly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from grader.service import settings as settings_module
from grader.service.dispatch import TASK_CHUNK, TASK_GRADE, TASK_PLAN
from grader.service.models import ProblemSet
from grader.service.settings import Settings
from grader.service.store.jobs import start_regrade
from tests.service.builders import TINY_SET_V2
from tests.workers.world import grades, make_world, new_version
from workers.app import make_celery


def test_the_app_is_configured_for_late_acks_and_quick_recovery() -> None:
    app = make_celery(Settings(broker_url="redis://127.0.0.1:6379/9", visibility_timeout=42,
                               unacked_restore_interval=2.5, task_time_limit=9, task_soft_time_limit=7))
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.task_acks_on_timeout is False
    assert conf.worker_prefetch_multiplier == 1
    options = conf.broker_transport_options
    assert options["visibility_timeout"] == 42 and options["unacked_restore_interval"] == 2.5
    assert options["unacked_restore_throttle"] == 1
    assert conf.task_annotations[TASK_GRADE] == {"soft_time_limit": 7, "time_limit": 9}
    assert conf.broker_url == "redis://127.0.0.1:6379/9"


def test_the_tasks_are_registered_under_their_names() -> None:
    from workers import tasks

    registered = set(tasks.app.tasks)
    assert {TASK_GRADE, TASK_PLAN, TASK_CHUNK} <= registered
    assert tasks.grade_submission.max_retries is not None
    assert tasks.grade_submission.autoretry_for == tasks.INFRASTRUCTURE  # type: ignore[attr-defined]


@pytest.fixture
def task_settings(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the worker module's settings at this test's database (as GRADER_* variables do for a worker)."""
    monkeypatch.setenv("GRADER_DATABASE_URL", database_url)
    monkeypatch.setenv("GRADER_BROKER_URL", "redis://127.0.0.1:6379/9")
    settings_module.get_settings.cache_clear()
    from workers import tasks

    tasks._factory = None
    yield
    settings_module.get_settings.cache_clear()
    if tasks._factory is not None:
        tasks._factory[1].kw["bind"].dispose()  # the worker module's own engine: close its connections
    tasks._factory = None


def test_each_task_runs_its_action(factory: sessionmaker[Session], task_settings: None) -> None:
    from workers import tasks

    world = make_world(factory, 2)
    result = tasks.grade_submission.apply(args=[world.submission_ids[0], world.version_id])
    assert result.get() == "graded"
    redelivered = tasks.grade_submission.apply(args=[world.submission_ids[0], world.version_id],
                                               delivery_info={"redelivered": True})
    assert redelivered.get() == "done-before"
    version = new_version(factory, TINY_SET_V2)
    with factory() as session:
        problem_set = session.get(ProblemSet, world.set_id)
        assert problem_set is not None
        job, _ = start_regrade(session, problem_set=problem_set, user=None)
        session.commit()
    chunk = tasks.grade_chunk.apply(args=[job.id, version, world.submission_ids])
    assert chunk.get() == 2
    assert [(g.score, g.max_score) for g in grades(factory, version)] == [(1.0, 10.0), (0.0, 10.0)]
