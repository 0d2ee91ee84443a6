"""PostgreSQL and Redis for real, with ``grader worker`` subprocesses: a database of this run's own in the
PostgreSQL server, and a ``redis-server`` of this run's own on a free port (the machine's Redis is never used)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from grader.service import migrate
from grader.service.api.main import create_app
from grader.service.db import make_engine, make_sessionmaker
from grader.service.dispatch import CeleryDispatcher
from grader.service.settings import Settings
from tests.integration.harness import Worker
from tests.services import REDIS_MISSING, PrivateRedis
from tests.workers.databases import empty_tables, postgres_database, require_postgres
from workers.app import make_celery


@pytest.fixture(scope="session")
def private_redis() -> Iterator[PrivateRedis]:
    """This run's own redis-server; the fault tests stop and start it (and only it)."""
    try:
        server = PrivateRedis()
    except FileNotFoundError:
        pytest.skip(REDIS_MISSING)
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    require_postgres()
    with postgres_database("grader_it") as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(pg_engine: Engine) -> sessionmaker[Session]:
    empty_tables(pg_engine)
    return make_sessionmaker(pg_engine)


@pytest.fixture
def broker_url(private_redis: PrivateRedis) -> Iterator[str]:
    private_redis.start()  # a test before may have stopped it
    client = redis.Redis.from_url(private_redis.url(0))
    client.flushall()  # our own server: each test starts with an empty broker
    client.close()
    yield private_redis.url(0)


@dataclass
class Cluster:
    redis: PrivateRedis
    settings: Settings
    env: dict[str, str]
    tmp: Path
    workers: list[Worker]

    def worker(self, **overrides: str) -> Worker:
        index = len(self.workers)
        worker = Worker({**self.env, **overrides}, self.tmp / f"worker-{index}.log")
        self.workers.append(worker)
        return worker.start()

    def client(self) -> TestClient:
        return TestClient(create_app(self.settings))

    def dispatcher(self) -> CeleryDispatcher:
        return CeleryDispatcher(make_celery(self.settings))


@pytest.fixture
def cluster(factory: sessionmaker[Session], pg_url: str, broker_url: str, private_redis: PrivateRedis,
            tmp_path: Path) -> Iterator[Cluster]:
    env = {"GRADER_DATABASE_URL": pg_url, "GRADER_BROKER_URL": broker_url, "GRADER_VISIBILITY_TIMEOUT": "4",
           "GRADER_UNACKED_RESTORE_INTERVAL": "1", "GRADER_SWEEP_INTERVAL": "1", "GRADER_SWEEP_AGE": "30",
           "GRADER_CHUNK_SIZE": "25", "GRADER_CHUNK_SOFT_TIME_LIMIT": "2", "GRADER_CHUNK_TIME_LIMIT": "3"}
    settings = Settings(database_url=pg_url, broker_url=broker_url, chunk_size=25)
    made = Cluster(private_redis, settings, env, tmp_path, [])
    try:
        yield made
    finally:
        for worker in made.workers:
            worker.stop()
