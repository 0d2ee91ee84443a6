"""Grading stored submissions: one by id, or a chunk of a regrade written in one transaction.

These are the actions the Celery tasks and the embedded worker thread both run. Each is idempotent: a grade
is unique per submission and set version and is inserted with ON CONFLICT DO NOTHING, so work delivered
twice is graded at most once. Job counters move in the same transaction as the grades they count.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from grader.grading.answers import Answers, read_answers
from grader.grading.grade import grade
from grader.problemset.model import ProblemSet as LoadedSet
from grader.problemset.source import InputError
from grader.service.db import utcnow
from grader.service.loaded import loaded_set
from grader.service.models import Delivery, Grade, RegradeJob, SetVersion, Submission
from grader.service.settings import DEFAULT_MAX_RESULT_BYTES
from grader.service.text import json_size, valid_text

log = logging.getLogger(__name__)


# Exceptions that mean "time is up" rather than "this submission is broken" (Celery's soft time limit).
Limits = tuple[type[BaseException], ...]


@dataclass
class Graded:
    submission_id: int
    score: float | None
    max_score: float
    result: dict[str, Any] | None
    error: str | None

    def row(self, version_id: int) -> dict[str, Any]:
        error = None if self.error is None else _short(valid_text(self.error))  # messages may quote what was sent
        return {"submission_id": self.submission_id, "set_version_id": version_id, "score": self.score,
                "max_score": self.max_score, "result": self.result, "error": error, "graded_at": utcnow()}


#: characters of an error message kept with a grade (a message may quote a long answer)
MAX_ERROR_CHARS = 2000


def _short(message: str) -> str:
    return message if len(message) <= MAX_ERROR_CHARS else message[:MAX_ERROR_CHARS - 1] + "…"


def grade_answers(ps: LoadedSet, submission_id: int, text: str, limits: Limits = (),
                  parsed: dict[str, Any] | None = None, max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES) -> Graded:
    """Grade one stored answers file; any failure of the grading itself becomes the submission's error.

    A result larger than ``max_result_bytes`` as JSON (``GRADER_MAX_RESULT_BYTES``) is not stored: the
    submission is graded with an error saying so, instead of a grade that every page showing it must carry.
    """
    try:
        file = f"submission {submission_id}"
        answers = read_answers(text, file) if parsed is None else Answers(
            parsed["problem_set"], parsed["student"], parsed["answers"], file, parsed["lines"])
        result = grade(ps, answers)
    except limits:
        raise
    except Exception as exc:  # a grading failure belongs to this submission only; the batch goes on
        log.exception("grading submission %s failed", submission_id)
        return Graded(submission_id, None, ps.max_score, None, f"grading failed: {type(exc).__name__}: {exc}")
    stored = json_safe(result.to_dict())
    size = json_size(stored)
    if size > max_result_bytes:
        log.warning("submission %s: result of %d bytes not stored (limit %d)", submission_id, size, max_result_bytes)
        return Graded(submission_id, None, result.max_score, None,
                      f"the grading result is {size:,} bytes, more than the {max_result_bytes:,} a grade may store, "
                      "so it was not kept: submit shorter answers")
    return Graded(submission_id, result.score, result.max_score, stored, None)


def json_safe(value: Any) -> Any:
    """``value`` as JSON holds it: what a student submitted may be a date or NaN, which JSON columns refuse."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def error_grade(ps_max: float, submission_id: int, message: str) -> Graded:
    return Graded(submission_id, None, ps_max, None, message)


def record_delivery(factory: sessionmaker[Session], key: str) -> int:
    """Count one more hand-over of the work ``key``, committed before the work starts; return the count."""
    with factory() as session, session.begin():
        stmt = _insert(session, Delivery).values(key=key, count=1, last_at=utcnow())
        stmt = stmt.on_conflict_do_update(index_elements=[Delivery.key],
                                          set_={"count": Delivery.count + 1, "last_at": utcnow()})
        count = session.scalar(stmt.returning(Delivery.count))
    return int(count or 1)


def _insert(session: Session, table: type[Any]) -> Any:
    """INSERT with the dialect's ON CONFLICT clause (PostgreSQL and SQLite both have it)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database {dialect!r}")


def store_grades(session: Session, version_id: int, graded: list[Graded]) -> tuple[int, int]:
    """Insert grades not stored yet; count the new ones into unfinished regrade jobs. Return (done, failed) new."""
    if not graded:
        return 0, 0
    stmt: Insert = _insert(session, Grade).on_conflict_do_nothing(index_elements=["submission_id",
                                                                                  "set_version_id"])
    inserted = session.execute(stmt.returning(Grade.submission_id, Grade.error),
                               [g.row(version_id) for g in graded]).all()
    ok = [sid for sid, error in inserted if error is None]
    bad = [sid for sid, error in inserted if error is not None]
    if inserted:
        _count_into_jobs(session, version_id, ok, bad)
    return len(ok), len(bad)


def _count_into_jobs(session: Session, version_id: int, ok: list[int], bad: list[int]) -> None:
    jobs = session.execute(select(RegradeJob.id, RegradeJob.last_submission_id).where(
        RegradeJob.set_version_id == version_id, RegradeJob.finished_at.is_(None))).all()
    now = utcnow()
    for job_id, last in jobs:
        done = sum(1 for sid in ok if sid <= last)
        failed = sum(1 for sid in bad if sid <= last)
        if not done and not failed:
            continue
        session.execute(update(RegradeJob).where(RegradeJob.id == job_id).values(
            done=RegradeJob.done + done, failed=RegradeJob.failed + failed, progress_at=now))
        session.execute(update(RegradeJob).where(
            RegradeJob.id == job_id, RegradeJob.finished_at.is_(None),
            RegradeJob.done + RegradeJob.failed >= RegradeJob.total).values(finished_at=now))


def grade_one(factory: sessionmaker[Session], *, submission_id: int, version_id: int, redelivered: bool = False,
              max_deliveries: int = 3, time_limit: float | None = None, limits: Limits = (),
              max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES) -> str:
    """Grade one submission against one version. Return what happened: graded, failed, done-before, gone.

    ``redelivered`` work (its previous grader died or timed out) is counted in the database; after
    ``max_deliveries`` hand-overs it is given up and the reason stored as the submission's error.
    """
    with factory() as session:
        if _has_grade(session, submission_id, version_id):
            return "done-before"
        row = session.execute(select(Submission.answers, Submission.parsed, SetVersion).join(
            SetVersion, SetVersion.problem_set_id == Submission.problem_set_id).where(
            Submission.id == submission_id, SetVersion.id == version_id)).first()
    if row is None:
        return "gone"  # deleted with its set since it was queued
    text, parsed, version = row
    deliveries = 1 + (record_delivery(factory, f"s{submission_id}v{version_id}") if redelivered else 0)
    if deliveries > max_deliveries:
        limit = f"{time_limit:g} s" if time_limit else "its time limit"
        graded = error_grade(version.max_score, submission_id, f"grading was abandoned after {max_deliveries} "
                             f"attempts: each one stopped its worker process or ran past {limit}")
    else:
        graded = _grade_within(version, submission_id, text, parsed, time_limit, limits, max_result_bytes)
    with factory() as session, session.begin():
        store_grades(session, version_id, [graded])
    return "failed" if graded.error else "graded"


def _grade_within(version: SetVersion, submission_id: int, text: str, parsed: dict[str, Any] | None,
                  time_limit: float | None, limits: Limits, max_result_bytes: int) -> Graded:
    try:
        ps = _load(version)
    except InputError as exc:
        return error_grade(version.max_score, submission_id, f"the problem set does not load: {exc}")
    try:
        return grade_answers(ps, submission_id, text, limits, parsed, max_result_bytes)
    except limits:
        limit = f"{time_limit:g} s" if time_limit else "its time limit"
        return error_grade(version.max_score, submission_id, f"grading took longer than {limit}")


def _load(version: SetVersion) -> LoadedSet:
    return loaded_set(version)


def _has_grade(session: Session, submission_id: int, version_id: int) -> bool:
    return session.scalar(select(Grade.id).where(Grade.submission_id == submission_id,
                                                 Grade.set_version_id == version_id)) is not None


@dataclass
class ChunkOutcome:
    done: int = 0
    failed: int = 0
    skipped: int = 0  # graded before (a redelivered chunk, or graded at submission)
    split: list[int] | None = None  # redelivered: grade these one by one, each with its own delivery count


def grade_chunk(factory: sessionmaker[Session], *, job_id: int, version_id: int, submission_ids: list[int],
                redelivered: bool = False, limits: Limits = (),
                max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES) -> ChunkOutcome:
    """Grade a chunk of a regrade and write its grades in bulk, in one transaction.

    A chunk handed out a second time was probably cut short by a crash: it is split into single submissions,
    each with its own delivery count, so one that kills its worker is given up alone and the rest are graded.
    """
    if not submission_ids:
        return ChunkOutcome()
    if redelivered:
        return ChunkOutcome(split=list(submission_ids))
    with factory() as session:
        version = session.get(SetVersion, version_id)
        if version is None:
            return ChunkOutcome(skipped=len(submission_ids))
        graded_before = set(session.scalars(select(Grade.submission_id).where(
            Grade.set_version_id == version_id, Grade.submission_id.in_(submission_ids))))
        todo = [i for i in submission_ids if i not in graded_before]
        rows = session.execute(select(Submission.id, Submission.answers, Submission.parsed)
                               .where(Submission.id.in_(todo))).all()
    try:
        ps = _load(version)
    except InputError as exc:
        graded = [error_grade(version.max_score, sid, f"the problem set does not load: {exc}") for sid, _, _ in rows]
    else:
        graded = [grade_answers(ps, sid, text, limits, parsed, max_result_bytes) for sid, text, parsed in rows]
    with factory() as session, session.begin():
        done, failed = store_grades(session, version_id, graded)
    return ChunkOutcome(done=done, failed=failed, skipped=len(submission_ids) - done - failed)
