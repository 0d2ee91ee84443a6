"""Test databases: a fresh SQLite file, or a PostgreSQL database of this test run's own.

Import rootdir-relative: ``from tests.workers.databases import postgres_database``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import Engine, text

from grader.service.models import Base

PG_ADMIN = os.environ.get("GRADER_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin_dsn() -> str:
    return PG_ADMIN


@contextmanager
def postgres_database(prefix: str = "grader_test") -> Iterator[str]:
    """Create a database for this run; yield its SQLAlchemy URL; drop it after."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    base = _admin_dsn().rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def empty_tables(engine: Engine) -> None:
    """Delete every row (keeps the schema): each test starts from nothing."""
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(text(f"DELETE FROM {name}"))
