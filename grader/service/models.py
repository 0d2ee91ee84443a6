"""The tables: users, problem sets and their versions, enrolments, submissions, grades, regrade jobs.

Submissions are never modified after they are stored. A grade is one per submission and set version
(a unique key), so writing it twice is harmless: that is what makes the workers' tasks idempotent.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from grader.service.db import utcnow
from grader.service.text import scrub

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class JsonDoc(TypeDecorator[Any]):
    """JSON (JSONB on PostgreSQL) whose strings are valid text both ways.

    Requests that bring a lone surrogate are refused, but a row stored before that (or derived from one,
    such as a grade's result) must not break every later read, and PostgreSQL refuses to store one: strings
    are repaired (``grader.service.text.scrub``) when written and when read.
    """

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return scrub(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return scrub(value)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Role(enum.StrEnum):
    INSTRUCTOR = "instructor"
    STUDENT = "student"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    # The name in lower case: users are found by it, so ``Alice`` and ``alice`` are one person.
    name_key: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[Role] = mapped_column(Enum(Role, name="user_role", values_callable=lambda e: [m.value for m in e]))
    # SHA-256 of the bearer token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WebSession(Base):
    """A sign-in of the web pages: its own random id (only its SHA-256 stored), an expiry, revoked at sign-out."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class ProblemSet(Base):
    __tablename__ = "problem_sets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # the set's id in its file, e.g. dl-hw2
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Whether students see the expected value of each part in their feedback (the instructor decides).
    show_expected: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Answers files one student may submit to this set in any hour; null: the service's default.
    submissions_per_hour: Mapped[int | None] = mapped_column(Integer)


class SetVersion(Base):
    __tablename__ = "set_versions"
    __table_args__ = (UniqueConstraint("problem_set_id", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    problem_set_id: Mapped[int] = mapped_column(ForeignKey("problem_sets.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    max_score: Mapped[float] = mapped_column(Float)
    # [{"id", "title", "kind", "max_score"}] in the file's order, for listings and the grades CSV.
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc())
    warnings: Mapped[list[str]] = mapped_column(JsonDoc())
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Enrolment(Base):
    __tablename__ = "enrolments"

    problem_set_id: Mapped[int] = mapped_column(ForeignKey("problem_sets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_set_student", "problem_set_id", "student_id", "id"),
        Index("ix_submissions_version", "set_version_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    problem_set_id: Mapped[int] = mapped_column(ForeignKey("problem_sets.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The version current when it arrived: it is first graded against that one.
    set_version_id: Mapped[int] = mapped_column(ForeignKey("set_versions.id", ondelete="CASCADE"))
    answers: Mapped[str] = mapped_column(Text)  # the answers file exactly as received
    # The same file as read at submission (problem_set, student, answers, lines), so regrades skip the YAML
    # parsing; null when JSON cannot hold it faithfully, and then the text is read again.
    parsed: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc())
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Grade(Base):
    __tablename__ = "grades"
    __table_args__ = (
        UniqueConstraint("submission_id", "set_version_id"),
        Index("ix_grades_version", "set_version_id", "submission_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    set_version_id: Mapped[int] = mapped_column(ForeignKey("set_versions.id", ondelete="CASCADE"))
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc())  # SPEC section 4, in full
    error: Mapped[str | None] = mapped_column(Text)  # why it could not be graded (then score is null)
    graded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RegradeJob(Base):
    __tablename__ = "regrade_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    problem_set_id: Mapped[int] = mapped_column(ForeignKey("problem_sets.id", ondelete="CASCADE"), index=True)
    set_version_id: Mapped[int] = mapped_column(ForeignKey("set_versions.id", ondelete="CASCADE"))
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    mode: Mapped[str] = mapped_column(String(16), default="batch")  # batch: chunks; single: one task each
    # The job covers the set's submissions with id <= last_submission_id.
    last_submission_id: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    progress_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def pending(self) -> int:
        return max(self.total - self.done - self.failed, 0)


class Delivery(Base):
    """How often a piece of work was handed to a worker: a task that kills its worker is given up after a few."""

    __tablename__ = "deliveries"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ServiceLock(Base):
    """Named timestamps that let one process among many claim a periodic duty (the sweep)."""

    __tablename__ = "service_locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
