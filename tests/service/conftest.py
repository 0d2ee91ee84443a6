"""The embedded service on a fresh SQLite file per test (copied from one migrated template)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from grader.service import migrate
from grader.service.api.main import create_app
from grader.service.db import make_engine
from grader.service.dispatch import InProcessDispatcher
from grader.service.settings import Settings
from tests.service.builders import add_user, enrol, upload
from tests.workers.databases import empty_tables, postgres_database, require_postgres

BODY_LIMIT = 64_000


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "grader.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def settings(migrated_template: Path, tmp_path: Path) -> Settings:
    path = tmp_path / "grader.db"
    shutil.copy(migrated_template, path)
    # The sweep is left to its own tests: here every piece of work is handed over at once. So are the limits on
    # how often one user may submit or preview (tests/service/test_api_limits.py turns them on).
    return Settings(database_url=f"sqlite:///{path}", broker_url="", max_body_bytes=BODY_LIMIT,
                    sweep_interval=3600, submissions_per_hour=0, submit_burst=0, preview_burst=0)


@pytest.fixture(scope="session")
def postgresql_service_url() -> Iterator[str]:
    """A migrated PostgreSQL database of this run's own (emptied by each test that uses it)."""
    require_postgres()
    with postgres_database("grader_api") as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def both_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The settings of ``settings``, on SQLite and then on an empty PostgreSQL database."""
    if request.param == "sqlite":
        return settings
    url = request.getfixturevalue("postgresql_service_url")
    engine = make_engine(url)
    try:
        empty_tables(engine)
    finally:
        engine.dispose()
    return settings.model_copy(update={"database_url": url})


@dataclass
class Env:
    client: TestClient
    factory: sessionmaker[Session]
    dispatcher: InProcessDispatcher

    def wait(self) -> None:
        """Until the embedded grader has done everything handed to it."""
        self.dispatcher.wait_idle()


@pytest.fixture
def env(settings: Settings) -> Iterator[Env]:
    app = create_app(settings)
    service = app.state.service
    assert isinstance(service.dispatcher, InProcessDispatcher)
    with TestClient(app) as client:
        yield Env(client, service.factory, service.dispatcher)


@pytest.fixture
def both_env(both_settings: Settings) -> Iterator[Env]:
    """``env`` on SQLite, then on PostgreSQL."""
    app = create_app(both_settings)
    service = app.state.service
    assert isinstance(service.dispatcher, InProcessDispatcher)
    with TestClient(app) as client:
        yield Env(client, service.factory, service.dispatcher)


@dataclass
class Course:
    """An instructor with the tiny set, two enrolled students, and an outsider of each role."""

    prof: str
    other_prof: str
    alice: str
    bob: str
    carol: str  # a student not enrolled


@pytest.fixture
def course(env: Env) -> Course:
    return make_course(env)


def make_course(env: Env) -> Course:
    """Users, the tiny set and its enrolment in ``env``'s database."""
    tokens = {name: add_user(env.factory, name, role) for name, role in
              [("prof", "instructor"), ("other", "instructor"), ("alice", "student"), ("bob", "student"),
               ("carol", "student")]}
    upload(env.client, tokens["prof"])
    enrol(env.client, tokens["prof"], "tiny-net", "alice", "bob")
    return Course(tokens["prof"], tokens["other"], tokens["alice"], tokens["bob"], tokens["carol"])
