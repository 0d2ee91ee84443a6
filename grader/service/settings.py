"""The one settings object read by the API, the workers, the migrations and the command line.

Every field comes from a ``GRADER_*`` environment variable (``GRADER_DATABASE_URL``, ``GRADER_BROKER_URL``, ...).
Without a broker the service runs embedded: SQLite file, grading done in-process.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from grader.service.setload import LoadLimits

DEFAULT_DATABASE_URL = "sqlite:///grader.db"
#: What one submission may store of its answers as read (JSON), and one grade of its result, in bytes.
DEFAULT_MAX_ANSWERS_BYTES = 256 * 1024
DEFAULT_MAX_RESULT_BYTES = 512 * 1024
#: Loading an uploaded problem set: wall-clock seconds, and the address space of the process doing it (MiB).
DEFAULT_SET_LOAD_SECONDS = 10.0
DEFAULT_SET_LOAD_MEMORY_MB = 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRADER_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # Empty: the embedded setup, grading in a thread of the API process. Otherwise a Celery broker (Redis).
    broker_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # Largest request body accepted (a problem set or an answers file), in bytes.
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # What is stored per submission (its answers as read, as JSON) and per grade (its result), checked before
    # the write: a file whose answers read larger is refused (413); a larger result is stored as an error.
    max_answers_bytes: int = Field(default=DEFAULT_MAX_ANSWERS_BYTES, ge=1024)
    max_result_bytes: int = Field(default=DEFAULT_MAX_RESULT_BYTES, ge=1024)
    # An uploaded problem set is read, checked and its key computed in a child process with these bounds;
    # a set that needs more time or memory is refused (422).
    set_load_seconds: float = Field(default=DEFAULT_SET_LOAD_SECONDS, gt=0)
    set_load_memory_mb: int = Field(default=DEFAULT_SET_LOAD_MEMORY_MB, ge=64)
    # How many such loads one server process runs at once (each may use the memory above).
    set_loads_at_once: int = Field(default=2, ge=1, le=64)

    # Web sign-in: hours a session lasts; whether its cookie is marked Secure (unset: when the request came
    # over https, as uvicorn reports it, X-Forwarded-Proto included from trusted proxies).
    session_hours: float = Field(default=12.0, gt=0, le=24 * 366)
    session_cookie_secure: bool | None = None

    # Batch regrade: submissions per task, and its time limits (seconds).
    chunk_size: int = Field(default=500, ge=1, le=10_000)
    chunk_soft_time_limit: float = Field(default=120.0, gt=0)
    chunk_time_limit: float = Field(default=150.0, gt=0)
    # One submission per task: its time limits (seconds).
    task_soft_time_limit: float = Field(default=20.0, gt=0)
    task_time_limit: float = Field(default=30.0, gt=0)
    # Deliveries of the same work before it is given up with a stored error (a task that kills its worker).
    max_deliveries: int = Field(default=3, ge=1)
    # Retries of a task that met an infrastructure error (database or broker unreachable).
    max_retries: int = Field(default=5, ge=0)

    # Redis transport: a message taken by a worker that died is handed out again after this many seconds.
    # It must exceed the longest task (chunk_time_limit) plus the time a prefetched message waits.
    visibility_timeout: int = Field(default=180, ge=1)
    # How often each worker looks for such messages (seconds).
    unacked_restore_interval: float = Field(default=5.0, gt=0)
    worker_concurrency: int = Field(default=0, ge=0)  # 0: one process per core
    # The worker's Celery node name; %h is the host name. Empty: grader-<pid>@%h (several on one host).
    # A container sets it (e.g. grader@%h) so that its healthcheck, `grader worker --ping`, asks that worker.
    worker_name: str = ""

    # The sweep re-queues work the database says is still to do: submissions older than sweep_age seconds
    # without a grade, and regrades that made no progress for sweep_age seconds. Runs every sweep_interval.
    sweep_interval: float = Field(default=30.0, gt=0)
    sweep_age: float = Field(default=60.0, ge=0)

    # Answers files one student may submit to one set in any hour (counted in the database, so the limit
    # holds across processes); a set's own submissions_per_hour overrides it. 0: no limit.
    submissions_per_hour: int = Field(default=30, ge=0, le=100_000)
    # Token buckets per user in each API process: submissions (API and pages) and formula previews. A bucket
    # holds *_burst requests and refills at *_per_minute; a request finding it empty gets 429. 0: no limit.
    submit_burst: int = Field(default=10, ge=0)
    submit_per_minute: float = Field(default=10.0, ge=0)
    preview_burst: int = Field(default=60, ge=0)
    preview_per_minute: float = Field(default=120.0, ge=0)

    @property
    def embedded(self) -> bool:
        return not self.broker_url

    @property
    def set_load_limits(self) -> LoadLimits:
        from grader.service.setload import LoadLimits

        return LoadLimits(self.set_load_seconds, self.set_load_memory_mb, self.set_loads_at_once)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    return Settings()
