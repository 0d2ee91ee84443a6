"""The tasks. Each only says how to run an action of ``grader.service.work`` as a task: ids in, rows
re-read inside, idempotent (so late acknowledgement is safe), retried only for infrastructure errors."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_ready, worker_shutdown
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from grader.service.db import make_engine, make_sessionmaker
from grader.service.dispatch import TASK_CHUNK, TASK_GRADE, TASK_PLAN, CeleryDispatcher
from grader.service.settings import get_settings
from grader.service.sweep import Sweeper
from grader.service.work import plan_regrade, run_chunk, run_grade

from .app import app

log = logging.getLogger(__name__)

# Errors of the machinery, not of the submission: the task is tried again later.
INFRASTRUCTURE = (OperationalError, DBAPIError, BrokerError, ConnectionError)
LIMITS = (SoftTimeLimitExceeded,)

_factory: tuple[int, sessionmaker[Session]] | None = None


def factory() -> sessionmaker[Session]:
    """This process's sessions (created after the fork: connections are never shared between processes)."""
    global _factory
    if _factory is None or _factory[0] != os.getpid():
        _factory = (os.getpid(), make_sessionmaker(make_engine(get_settings().database_url, pool_size=2)))
    return _factory[1]


def _redelivered(task: Task[Any, Any]) -> bool:
    info = task.request.delivery_info or {}
    return bool(info.get("redelivered"))


RETRY: dict[str, Any] = {"autoretry_for": INFRASTRUCTURE, "retry_backoff": 1, "retry_backoff_max": 30,
                         "retry_jitter": True, "max_retries": get_settings().max_retries}


@app.task(name=TASK_GRADE, bind=True, **RETRY)
def grade_submission(self: Task[Any, Any], submission_id: int, version_id: int) -> str:
    """Grade one submission against one version of its set."""
    return run_grade(factory(), get_settings(), CeleryDispatcher(app), submission_id, version_id,
                     redelivered=_redelivered(self), limits=LIMITS)


@app.task(name=TASK_PLAN, bind=True, **RETRY)
def plan(self: Task[Any, Any], job_id: int) -> int:
    """Fan a regrade out into chunk tasks."""
    return plan_regrade(factory(), get_settings(), CeleryDispatcher(app), job_id)


@app.task(name=TASK_CHUNK, bind=True, **RETRY)
def grade_chunk(self: Task[Any, Any], job_id: int, version_id: int, submission_ids: list[int]) -> int:
    """Grade a chunk of a regrade, written in one transaction. Return how many were graded now."""
    outcome = run_chunk(factory(), get_settings(), CeleryDispatcher(app), job_id, version_id, submission_ids,
                        redelivered=_redelivered(self), limits=LIMITS)
    return outcome.done + outcome.failed


_sweeper: Sweeper | None = None


@worker_ready.connect
def _start_sweeper(**_kwargs: Any) -> None:
    """Each worker offers to sweep; the database lets one per interval do it."""
    global _sweeper
    _sweeper = Sweeper(factory(), get_settings(), CeleryDispatcher(app))
    _sweeper.start()


@worker_shutdown.connect
def _stop_sweeper(**_kwargs: Any) -> None:
    if _sweeper is not None:
        _sweeper.stop()
