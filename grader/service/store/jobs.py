"""Regrade jobs: which submissions a regrade covers, and its counts (done, failed, pending)."""

from __future__ import annotations

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from grader.service.db import utcnow
from grader.service.errors import NotFound
from grader.service.models import Grade, ProblemSet, RegradeJob, Submission, User
from grader.service.store.sets import current_version

MODES = ("batch", "single")


def start_regrade(session: Session, *, problem_set: ProblemSet, user: User | None, mode: str = "batch") -> \
        tuple[RegradeJob, bool]:
    """A job grading every submission of the set so far against its current version; (job, created).

    An unfinished job for the same version is returned instead of a second one.
    """
    version = current_version(session, problem_set=problem_set)
    running = session.scalar(select(RegradeJob).where(RegradeJob.set_version_id == version.id,
                                                      RegradeJob.finished_at.is_(None)).limit(1))
    if running is not None:
        return running, False
    last = session.scalar(select(func.max(Submission.id)).where(Submission.problem_set_id == problem_set.id)) or 0
    job = RegradeJob(problem_set_id=problem_set.id, set_version_id=version.id, mode=mode, last_submission_id=last,
                     requested_by=None if user is None else user.id, total=0, done=0, failed=0)
    session.add(job)
    session.flush()
    recount(session, job=job)
    return job, True


def recount(session: Session, *, job: RegradeJob) -> None:
    """Set the job's counts from the grades stored (the truth, whatever the workers reported)."""
    total = session.scalar(select(func.count()).where(Submission.problem_set_id == job.problem_set_id,
                                                      Submission.id <= job.last_submission_id)) or 0
    ok, bad = session.execute(
        select(func.count().filter(Grade.error.is_(None)), func.count(Grade.error))  # count(x) skips NULLs
        .select_from(Grade).join(Submission, Submission.id == Grade.submission_id)
        .where(Grade.set_version_id == job.set_version_id, Submission.id <= job.last_submission_id)).one()
    now = utcnow()
    session.execute(update(RegradeJob).where(RegradeJob.id == job.id).values(total=total, done=ok, failed=bad))
    if ok + bad >= total:
        session.execute(update(RegradeJob).where(RegradeJob.id == job.id, RegradeJob.finished_at.is_(None))
                        .values(finished_at=now))
    session.refresh(job)


def pending_ids(session: Session, *, job: RegradeJob, limit: int | None = None) -> list[int]:
    """The job's submissions not yet graded against its version, in id order."""
    graded = select(Grade.id).where(and_(Grade.submission_id == Submission.id,
                                         Grade.set_version_id == job.set_version_id))
    query = (select(Submission.id).where(Submission.problem_set_id == job.problem_set_id,
                                         Submission.id <= job.last_submission_id, ~graded.exists())
             .order_by(Submission.id))
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def get_job(session: Session, *, problem_set: ProblemSet, job_id: int) -> RegradeJob:
    job = session.get(RegradeJob, job_id)
    if job is None or job.problem_set_id != problem_set.id:
        raise NotFound(f"no regrade {job_id} of problem set {problem_set.name!r}")
    return job


def list_jobs(session: Session, *, problem_set: ProblemSet) -> list[RegradeJob]:
    return list(session.scalars(select(RegradeJob).where(RegradeJob.problem_set_id == problem_set.id)
                                .order_by(RegradeJob.id.desc())))
