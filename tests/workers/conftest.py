"""The grading actions on both databases the service runs on: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from grader.service import migrate
from grader.service.db import make_engine, make_sessionmaker
from tests.workers.databases import empty_tables, postgres_database, require_postgres


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    require_postgres()
    with postgres_database() as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('workers') / 'grader.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engines(request: pytest.FixtureRequest) -> Iterator[dict[str, Engine]]:
    made: dict[str, Engine] = {}
    yield made
    for engine in made.values():
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, engines: dict[str, Engine]) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    if url not in engines:
        engines[url] = make_engine(url)
    empty_tables(engines[url])
    return url


@pytest.fixture
def factory(database_url: str, engines: dict[str, Engine]) -> sessionmaker[Session]:
    return make_sessionmaker(engines[database_url])
