"""The migrations up and down on a PostgreSQL database of their own."""

from __future__ import annotations

from sqlalchemy import inspect, text

from grader.service import migrate
from grader.service.db import make_engine
from grader.service.models import Base
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
