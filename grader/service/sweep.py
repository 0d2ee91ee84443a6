"""The sweep: hand out again whatever the database says is still to be graded.

Work can be lost between the database and a grader: the broker was down when a submission arrived, Redis
restarted and dropped its queues, a worker died holding messages. The database keeps the truth, so a periodic
sweep re-queues submissions without a grade for the version they were submitted under, and regrades that
stopped making progress. Grading is idempotent, so work queued twice is graded once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from grader.service.db import utcnow
from grader.service.dispatch import Dispatcher
from grader.service.models import Grade, RegradeJob, ServiceLock, Submission
from grader.service.settings import Settings
from grader.service.store.jobs import recount

log = logging.getLogger(__name__)

SWEEP_LOCK = "sweep"
MAX_PER_SWEEP = 5000


@dataclass
class SweepReport:
    submissions: int = 0
    jobs: int = 0


def claim(factory: sessionmaker[Session], name: str, interval: float) -> bool:
    """Claim the periodic duty ``name`` for this round: true for exactly one of many processes per interval."""
    now = utcnow()
    with factory() as session, session.begin():
        claimed = session.execute(update(ServiceLock).where(
            ServiceLock.name == name, ServiceLock.at <= now - timedelta(seconds=interval * 0.9)).values(at=now))
        if claimed.rowcount:  # type: ignore[attr-defined]
            return True
        if session.get(ServiceLock, name) is not None:
            return False
    try:
        with factory() as session, session.begin():
            session.execute(insert(ServiceLock).values(name=name, at=now))
    except IntegrityError:  # another process created it first
        return False
    return True


def sweep(factory: sessionmaker[Session], settings: Settings, dispatcher: Dispatcher) -> SweepReport:
    """Re-queue submissions and regrades older than ``sweep_age`` that are still not graded."""
    report = SweepReport()
    cutoff = utcnow() - timedelta(seconds=settings.sweep_age)
    with factory() as session:
        graded = select(Grade.id).where(and_(Grade.submission_id == Submission.id,
                                             Grade.set_version_id == Submission.set_version_id))
        stale = session.execute(select(Submission.id, Submission.set_version_id).where(
            Submission.created_at <= cutoff, ~graded.exists()).order_by(Submission.id).limit(MAX_PER_SWEEP)).all()
    for submission_id, version_id in stale:
        if dispatcher.grade(submission_id, version_id):
            report.submissions += 1
    with factory() as session, session.begin():
        jobs = list(session.scalars(select(RegradeJob).where(RegradeJob.finished_at.is_(None),
                                                             RegradeJob.progress_at <= cutoff)))
        for job in jobs:
            recount(session, job=job)
        stalled = [job.id for job in jobs if job.finished_at is None]
    for job_id in stalled:
        if dispatcher.regrade(job_id):
            report.jobs += 1
    if report.submissions or report.jobs:
        log.info("sweep re-queued %d submissions and %d regrades", report.submissions, report.jobs)
    return report


class Sweeper:
    """A thread that runs the sweep every ``sweep_interval`` seconds, if this process wins the round."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, dispatcher: Dispatcher) -> None:
        self.factory = factory
        self.settings = settings
        self.dispatcher = dispatcher
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="grader-sweep", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.settings.sweep_interval):
            try:
                if claim(self.factory, SWEEP_LOCK, self.settings.sweep_interval):
                    sweep(self.factory, self.settings, self.dispatcher)
            except Exception:  # the database or broker is away: try again next round
                log.exception("sweep failed")
