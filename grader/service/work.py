"""The actions behind each task, written once for the Celery workers and the embedded thread."""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from grader.service.db import utcnow
from grader.service.dispatch import Dispatcher
from grader.service.grading import ChunkOutcome, Limits, grade_chunk, grade_one
from grader.service.models import RegradeJob
from grader.service.settings import Settings
from grader.service.store.jobs import pending_ids

log = logging.getLogger(__name__)


def run_grade(factory: sessionmaker[Session], settings: Settings, _dispatcher: Dispatcher, submission_id: int,
              version_id: int, *, redelivered: bool = False, limits: Limits = ()) -> str:
    return grade_one(factory, submission_id=submission_id, version_id=version_id, redelivered=redelivered,
                     max_deliveries=settings.max_deliveries, time_limit=settings.task_soft_time_limit,
                     limits=limits, max_result_bytes=settings.max_result_bytes)


def plan_regrade(factory: sessionmaker[Session], settings: Settings, dispatcher: Dispatcher, job_id: int) -> int:
    """Fan a regrade's ungraded submissions out: chunks (batch) or one task each (single). Return the count."""
    with factory() as session, session.begin():
        job = session.get(RegradeJob, job_id)
        if job is None or job.finished_at is not None:
            return 0
        ids = pending_ids(session, job=job)
        # Handing out counts as progress: the sweep leaves the job alone while this work is under way.
        session.execute(update(RegradeJob).where(RegradeJob.id == job_id).values(progress_at=utcnow()))
        mode, version_id = job.mode, job.set_version_id
    if mode == "single":
        for sid in ids:
            dispatcher.grade(sid, version_id)
    else:
        size = settings.chunk_size
        for start in range(0, len(ids), size):
            dispatcher.chunk(job_id, version_id, ids[start:start + size])
    return len(ids)


def run_chunk(factory: sessionmaker[Session], settings: Settings, dispatcher: Dispatcher, job_id: int,
              version_id: int, submission_ids: list[int], *, redelivered: bool = False,
              limits: Limits = ()) -> ChunkOutcome:
    try:
        outcome = grade_chunk(factory, job_id=job_id, version_id=version_id, submission_ids=submission_ids,
                              redelivered=redelivered, limits=limits, max_result_bytes=settings.max_result_bytes)
    except limits:
        log.warning("chunk of job %s starting at submission %s ran out of time; grading it one by one", job_id,
                    submission_ids[0])
        outcome = ChunkOutcome(split=list(submission_ids))
    if outcome.split:
        for sid in outcome.split:
            dispatcher.grade(sid, version_id)
    return outcome
