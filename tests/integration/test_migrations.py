"""The migrations up and down on a PostgreSQL database of their own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import inspect, text

from grader.service import migrate
from grader.service.db import make_engine
from grader.service.models import Base
from tests.services import PG_ADMIN, free_port
from tests.workers.databases import postgres_database, require_postgres


def test_upgrade_downgrade_and_upgrade_again_on_postgresql() -> None:
    require_postgres()
    with postgres_database("grader_mig") as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(url)
            tables = set(inspect(engine).get_table_names())
            assert tables == {*Base.metadata.tables, "alembic_version"}
            assert migrate.is_current(engine, url)
            with engine.connect() as conn:
                kinds = conn.execute(text("SELECT typname FROM pg_type WHERE typname = 'user_role'")).all()
            assert kinds == [("user_role",)]

            migrate.downgrade(url, "base")
            engine.dispose()
            assert set(inspect(engine).get_table_names()) == {"alembic_version"}
            with engine.connect() as conn:
                assert conn.execute(text("SELECT typname FROM pg_type WHERE typname = 'user_role'")).all() == []
            assert not migrate.is_current(engine, url)

            migrate.upgrade(url)
            assert set(inspect(engine).get_table_names()) == {*Base.metadata.tables, "alembic_version"}
        finally:
            engine.dispose()


def test_the_migrated_schema_matches_the_models() -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    require_postgres()
    with postgres_database("grader_mig") as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                        Base.metadata)
        finally:
            engine.dispose()
    assert diff == []


def _upgrade(url: str, wait: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "grader.cli", "db", "upgrade", "--wait", wait],
                            env={**os.environ, "GRADER_DATABASE_URL": url}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd)


def test_upgrade_waits_for_the_database_to_accept_connections(tmp_path: Path) -> None:
    require_postgres()
    name = f"grader_wait_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    base = PG_ADMIN.rsplit("/", 1)[0]
    upgrading = _upgrade(f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}", "60", tmp_path)
    try:
        time.sleep(3)  # it is retrying: the database does not exist yet
        assert upgrading.poll() is None
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        _, err = upgrading.communicate(timeout=60)
        assert upgrading.returncode == 0, err
        assert "waiting for the database" in err and "database at revision head" in err
    finally:
        if upgrading.poll() is None:
            upgrading.kill()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_upgrade_gives_up_after_its_wait_with_the_reason(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"  # nothing listens there
    started = time.monotonic()
    _, err = (upgrading := _upgrade(url, "3", tmp_path)).communicate(timeout=120)
    assert upgrading.returncode == 1
    assert "waiting for the database" in err and "gave up after 3 s" in err
    assert time.monotonic() - started >= 3
