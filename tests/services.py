"""Services of the tests' and benchmarks' own: a private ``redis-server`` and a private PostgreSQL database.

Nothing here talks to a service it did not start, except PostgreSQL's server, in which a database of this
run's own is created and dropped again. The machine's Redis (or a user's, with real data) is never
stopped, restarted, flushed or written to: the private one listens on a free port and keeps its data in a
temporary folder.

Import rootdir-relative: ``from tests.services import PrivateRedis``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: The PostgreSQL server in which test databases are made (its ``postgres`` database, for CREATE/DROP).
PG_ADMIN = os.environ.get("GRADER_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")

REDIS_MISSING = ("redis-server is not installed: `apt-get install redis-server` (Debian/Ubuntu) or "
                 "`brew install redis` (macOS) to run these tests")
POSTGRES_MISSING = ("no PostgreSQL server accepts connections at {dsn}: start one (Debian: `apt-get install "
                    "postgresql`), or point GRADER_TEST_PG_ADMIN at a server where a database may be created")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class PrivateRedis:
    """A ``redis-server`` of this process's own, on a free port, with nothing kept on disk.

    ``stop`` and ``start`` take it down and bring it back on the same port, for the fault tests.
    """

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError(REDIS_MISSING)
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="grader-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None and _answers(self.port)

    def start(self, timeout: float = 20.0) -> PrivateRedis:
        if self.process is not None and self.process.poll() is None:
            return self
        log = (self.dir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--daemonize", "no", "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while not _answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (self.dir / "redis.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"the private redis-server on port {self.port} did not start:\n{tail}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop it at once (SIGKILL): what a crashed or unplugged broker looks like to its clients."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis().start()
    try:
        yield server
    finally:
        server.close()


def postgres_reachable(dsn: str = PG_ADMIN) -> bool:
    import psycopg

    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@contextmanager
def postgres_database(prefix: str = "grader_test", admin: str = PG_ADMIN) -> Iterator[str]:
    """Create a database of this run's own; yield its SQLAlchemy URL; drop it after (even if still in use)."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
