"""Real ``grader worker`` processes for the integration tests (their Redis: ``tests.services.PrivateRedis``).

Import rootdir-relative: ``from tests.integration.harness import Worker``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

PATIENCE = 90.0  # seconds: a guard against hanging forever, not a performance expectation


def wait_for(what: str, check: Callable[[], bool], timeout: float = PATIENCE, every: float = 0.05,
             describe: Callable[[], str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}" + (f": {describe()}" if describe else ""))
        time.sleep(every)


class Worker:
    """One ``grader worker`` process (with its pool children) in a process group of its own."""

    def __init__(self, env: dict[str, str], log: Path, concurrency: int = 1) -> None:
        self.env = env
        self.log = log
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "grader.cli", "worker", f"--concurrency={self.concurrency}"],
                env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for("the worker to be ready", lambda: " ready." in self._log_from(offset), describe=self.tail)
        return self

    def _log_from(self, offset: int) -> str:
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once: no chance to hand anything back."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None
