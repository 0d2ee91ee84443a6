"""Handing work to graders: Celery tasks on the broker, or a thread of this process (the embedded setup).

Both run the same actions (``grader.service.work``). Work is always committed to the database before it is
handed over, and a hand-over that fails (the broker is down) is not an error: the sweep hands it over again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session, sessionmaker

from grader.service.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

TASK_GRADE = "grader.grade_submission"
TASK_PLAN = "grader.plan_regrade"
TASK_CHUNK = "grader.grade_chunk"
TASK_SWEEP = "grader.sweep"


class Dispatcher(Protocol):
    """Where work goes. Each method returns whether the work was handed over."""

    def grade(self, submission_id: int, version_id: int) -> bool: ...

    def regrade(self, job_id: int) -> bool: ...

    def chunk(self, job_id: int, version_id: int, submission_ids: list[int]) -> bool: ...


class CeleryDispatcher:
    """Publishes tasks to the broker; the ``grader worker`` processes run them.

    While the broker is unreachable a publish costs seconds (the Redis client retries), so after a failure
    publishing pauses for ``pause`` seconds: work handed over meanwhile is left to the sweep. With
    ``background`` the publishing happens in a thread, so an HTTP request never waits on the broker.
    """

    def __init__(self, app: Celery, *, background: bool = False, pause: float = 5.0) -> None:
        self.app = app
        self.pause = pause
        self._down_until = 0.0
        self._queue: queue.Queue[tuple[str, list[object]] | None] | None = None
        if background:
            self._queue = queue.Queue()
            threading.Thread(target=self._publisher, name="grader-publisher", daemon=True).start()

    def _send(self, name: str, args: list[object]) -> bool:
        if self._queue is not None:
            self._queue.put((name, args))
            return True
        return self._publish(name, args)

    def _publish(self, name: str, args: list[object]) -> bool:
        if time.monotonic() < self._down_until:
            return False
        try:
            # No publish retries: the sweep catches up with whatever could not be queued.
            self.app.send_task(name, args=args, retry=False)
        except Exception as exc:  # kombu raises several types for an unreachable broker
            self._down_until = time.monotonic() + self.pause
            log.warning("could not queue %s%s (pausing for %g s; the sweep will queue it): %s", name, tuple(args),
                        self.pause, exc)
            return False
        return True

    def _publisher(self) -> None:
        assert self._queue is not None
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._publish(*item)

    def close(self) -> None:
        if self._queue is not None:
            self._queue.put(None)

    def grade(self, submission_id: int, version_id: int) -> bool:
        return self._send(TASK_GRADE, [submission_id, version_id])

    def regrade(self, job_id: int) -> bool:
        return self._send(TASK_PLAN, [job_id])

    def chunk(self, job_id: int, version_id: int, submission_ids: list[int]) -> bool:
        return self._send(TASK_CHUNK, [job_id, version_id, submission_ids])


class InProcessDispatcher:
    """The embedded setup: one thread of this process grades, through the same actions as the workers."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory = factory
        self.settings = settings
        self._queue: queue.Queue[Callable[[], object] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="grader-embedded-worker", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def wait_idle(self) -> None:
        """Block until everything handed over so far is done."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                item()
            except Exception:  # the database is the record: the sweep retries what failed here
                log.exception("embedded grading failed")
            finally:
                self._queue.task_done()

    def grade(self, submission_id: int, version_id: int) -> bool:
        from grader.service.work import run_grade

        self._queue.put(lambda: run_grade(self.factory, self.settings, self, submission_id, version_id))
        return True

    def regrade(self, job_id: int) -> bool:
        from grader.service.work import plan_regrade

        self._queue.put(lambda: plan_regrade(self.factory, self.settings, self, job_id))
        return True

    def chunk(self, job_id: int, version_id: int, submission_ids: list[int]) -> bool:
        from grader.service.work import run_chunk

        self._queue.put(lambda: run_chunk(self.factory, self.settings, self, job_id, version_id, submission_ids))
        return True
