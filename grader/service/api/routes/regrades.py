"""Regrades: grade every submission of a set against its current version, and follow the progress."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from grader.service.models import SetVersion
from grader.service.store.jobs import get_job, list_jobs, start_regrade
from grader.service.store.sets import owned_set

from ..deps import Instructor, JobId, ServiceDep, SessionDep
from ..present import job_out
from ..schemas import JobOut, RegradeIn

router = APIRouter(prefix="/sets/{set_id}/regrades", tags=["regrades"])


@router.post("", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED)
def start(set_id: str, session: SessionDep, user: Instructor, service: ServiceDep, response: Response,
          body: RegradeIn | None = None) -> JobOut:
    """Start a regrade (or return the one already running for the current version)."""
    problem_set = owned_set(session, user=user, name=set_id)
    job, created = start_regrade(session, problem_set=problem_set, user=user,
                                 mode=(body or RegradeIn()).mode)
    session.commit()  # recorded before it is queued: if queuing fails, the sweep queues it
    if created and job.finished_at is None:
        service.dispatcher.regrade(job.id)
    response.headers["Location"] = f"/api/v1/sets/{set_id}/regrades/{job.id}"
    return job_out(job, problem_set, _number(session, job.set_version_id))


@router.get("", response_model=list[JobOut])
def list_regrades(set_id: str, session: SessionDep, user: Instructor) -> list[JobOut]:
    problem_set = owned_set(session, user=user, name=set_id)
    return [job_out(j, problem_set, _number(session, j.set_version_id)) for j in list_jobs(session,
                                                                                         problem_set=problem_set)]


@router.get("/{job_id}", response_model=JobOut)
def read_regrade(set_id: str, job_id: JobId, session: SessionDep, user: Instructor) -> JobOut:
    """Progress: total, done, failed, pending."""
    problem_set = owned_set(session, user=user, name=set_id)
    job = get_job(session, problem_set=problem_set, job_id=job_id)
    return job_out(job, problem_set, _number(session, job.set_version_id))


def _number(session: SessionDep, version_id: int) -> int:
    version = session.get(SetVersion, version_id)
    return version.number if version else 0
