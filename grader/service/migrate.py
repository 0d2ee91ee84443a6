"""Run the Alembic migrations (``grader/migrations/``, shipped inside the package) against a database.

The configuration is built here, not read from an ``alembic.ini``: an installed wheel has no project folder.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

SCRIPTS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def is_current(engine: Engine, database_url: str) -> bool:
    """Whether the database is at the newest revision."""
    heads = set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == heads


def upgrade_if_needed(database_url: str) -> None:
    """Create or upgrade the schema unless it is current (the embedded SQLite file needs no setup by hand)."""
    from grader.service.db import make_engine

    engine = make_engine(database_url)
    try:
        current = is_current(engine, database_url)
    finally:
        engine.dispose()
    if not current:
        upgrade(database_url)
