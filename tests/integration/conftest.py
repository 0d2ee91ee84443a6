"""PostgreSQL and Redis for real, with ``grader worker`` subprocesses: a database and a Redis DB number of this
test run's own, so runs do not collide."""

from __future__ import annotations

import os
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
from tests.integration.harness import REDIS_HOST, REDIS_PORT, Worker, start_redis
from tests.workers.databases import empty_tables, postgres_database
from workers.app import make_celery

# Redis DB numbers 10-15 are used by these tests, one per run (by process id).
REDIS_DB = 10 + os.getpid() % 6


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
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
def broker_url() -> Iterator[str]:
    start_redis()  # a test before may have stopped it
    redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB).flushdb()
    yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    start_redis()
    redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB).flushdb()


@dataclass
class Cluster:
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
def cluster(factory: sessionmaker[Session], pg_url: str, broker_url: str, tmp_path: Path) -> Iterator[Cluster]:
    env = {"GRADER_DATABASE_URL": pg_url, "GRADER_BROKER_URL": broker_url, "GRADER_VISIBILITY_TIMEOUT": "4",
           "GRADER_UNACKED_RESTORE_INTERVAL": "1", "GRADER_SWEEP_INTERVAL": "1", "GRADER_SWEEP_AGE": "30",
           "GRADER_CHUNK_SIZE": "25", "GRADER_CHUNK_SOFT_TIME_LIMIT": "2", "GRADER_CHUNK_TIME_LIMIT": "3"}
    settings = Settings(database_url=pg_url, broker_url=broker_url, chunk_size=25)
    made = Cluster(settings, env, tmp_path, [])
    try:
        yield made
    finally:
        for worker in made.workers:
            worker.stop()
