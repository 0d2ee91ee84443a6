"""Test databases: a fresh SQLite file, or a PostgreSQL database of this test run's own.

Import rootdir-relative: ``from tests.workers.databases import postgres_database``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from grader.service.models import Base
from tests.services import PG_ADMIN, POSTGRES_MISSING, postgres_reachable
from tests.services import postgres_database as postgres_database


def require_postgres() -> None:
    """Skip the calling test (or fixture) when there is no PostgreSQL server to make a database in."""
    if not postgres_reachable():
        pytest.skip(POSTGRES_MISSING.format(dsn=PG_ADMIN))


def empty_tables(engine: Engine) -> None:
    """Delete every row (keeps the schema): each test starts from nothing."""
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(text(f"DELETE FROM {name}"))
