"""Alembic environment: the database URL comes from the service settings (GRADER_DATABASE_URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from grader.service.db import make_engine
from grader.service.models import Base
from grader.service.settings import Settings

config = context.config


def _database_url() -> str:
    # `grader db upgrade` and the tests pass the URL in; otherwise read the settings.
    url = config.attributes.get("database_url")
    return str(url) if url else Settings().database_url


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    # SQLite cannot ALTER most things: batch mode copies the table instead.
    context.configure(connection=connection, url=url, target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True)


def run_offline() -> None:
    _configure(url=_database_url())
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_database_url())
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
