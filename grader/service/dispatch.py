"""Handing work to graders: Celery tasks on the broker, or a thread of this process (the embedded setup).

Both run the same actions (``grader.service.work``). Work is always committed to the database before it is
handed over, and a hand-over that fails (the broker is down) is not an error: the sweep hands it over again.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select
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


class FairQueue:
    """Work in lanes, taken least recently served lane first: no lane waits behind another's backlog.

    A lane is one student's submissions (or one regrade job). ``get`` takes the next item of the
    non-empty lane that was served longest ago (a lane never served comes first), so however many
    items one lane holds, an item of another lane waits for at most the one being worked on and one
    turn of each other waiting lane. ``join`` waits until every item put has been marked done.
    """

    #: lanes remembered while empty (for the order), before the idle ones are forgotten
    MAX_REMEMBERED = 10_000

    def __init__(self) -> None:
        self._lanes: dict[str, deque[Callable[[], object]]] = {}
        self._served: dict[str, int] = {}  # lane -> the turn it was last served
        self._turn = 0
        self._unfinished = 0
        self._closed = False
        self._cond = threading.Condition()

    def put(self, lane: str, item: Callable[[], object]) -> None:
        with self._cond:
            self._lanes.setdefault(lane, deque()).append(item)
            self._unfinished += 1
            self._cond.notify_all()

    def get(self) -> Callable[[], object] | None:
        """The next item, waiting for one; None once closed and empty."""
        with self._cond:
            while not self._lanes and not self._closed:
                self._cond.wait()
            if not self._lanes:
                return None
            lane = min(self._lanes, key=lambda name: self._served.get(name, -1))
            items = self._lanes[lane]
            item = items.popleft()
            if not items:
                del self._lanes[lane]
            self._turn += 1
            self._served[lane] = self._turn
            if len(self._served) > self.MAX_REMEMBERED:
                self._served = {name: turn for name, turn in self._served.items() if name in self._lanes}
            return item

    def task_done(self) -> None:
        with self._cond:
            self._unfinished -= 1
            self._cond.notify_all()

    def join(self) -> None:
        with self._cond:
            while self._unfinished:
                self._cond.wait()

    def close(self) -> None:
        """Let ``get`` return None once the items already put are taken."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        with self._cond:
            self._closed = False

    def waiting(self) -> dict[str, int]:
        """Items waiting, by lane."""
        with self._cond:
            return {lane: len(items) for lane, items in self._lanes.items()}


class InProcessDispatcher:
    """The embedded setup: one thread of this process grades, through the same actions as the workers.

    Work waits in a ``FairQueue`` with one lane per student (and one per regrade job), so one student's
    submissions delay another student's by at most the one being graded. A regrade's chunks are cut into
    single submissions here, for the same reason: a chunk of 500 would hold everyone else back.
    """

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory = factory
        self.settings = settings
        self._queue = FairQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._queue.reopen()
            self._thread = threading.Thread(target=self._run, name="grader-embedded-worker", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Finish the work handed over so far, then stop the thread."""
        if self._thread is not None:
            self._queue.close()
            self._thread.join()
            self._thread = None

    def wait_idle(self) -> None:
        """Block until everything handed over so far is done."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                item()
            except Exception:  # the database is the record: the sweep retries what failed here
                log.exception("embedded grading failed")
            finally:
                self._queue.task_done()

    def _student_lane(self, submission_id: int) -> str:
        from grader.service.models import Submission

        with self.factory() as session:
            student = session.scalar(select(Submission.student_id).where(Submission.id == submission_id))
        return f"student:{student}" if student is not None else f"submission:{submission_id}"

    def grade(self, submission_id: int, version_id: int) -> bool:
        from grader.service.work import run_grade

        self._queue.put(self._student_lane(submission_id),
                        lambda: run_grade(self.factory, self.settings, self, submission_id, version_id))
        return True

    def regrade(self, job_id: int) -> bool:
        from grader.service.work import plan_regrade

        self._queue.put(f"regrade:{job_id}", lambda: plan_regrade(self.factory, self.settings, self, job_id))
        return True

    def chunk(self, job_id: int, version_id: int, submission_ids: list[int]) -> bool:
        from grader.service.work import run_chunk

        for sid in submission_ids:
            self._queue.put(f"regrade:{job_id}",
                            functools.partial(run_chunk, self.factory, self.settings, self, job_id, version_id, [sid]))
        return True
