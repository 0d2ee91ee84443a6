"""Loading an uploaded problem set in a bounded step: a child process with a wall-clock and a memory limit.

A few hundred bytes of YAML can describe a network that takes minutes and gigabytes to check (three
layers of 300 units). Inside the API process that would stall every other request and could take the
process down. So an upload is read, checked and its key computed in a child process of its own, which
gets ``GRADER_SET_LOAD_SECONDS`` of wall-clock time and ``GRADER_SET_LOAD_MEMORY_MB`` of address space
(``resource.setrlimit``); past either it is stopped and the upload refused with a clear 422. The request
thread only waits on a pipe meanwhile, so the server goes on answering. At most ``GRADER_SET_LOADS_AT_ONCE``
loads run at once in a process; an upload that finds no free slot within the time bound gets 503.

Children come from a fork server (a clean process that has imported the loader once), not from forking
the threaded API process. Only what the upload stores comes back: the set's summary (``SetSummary``).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from grader.grading.audit import audit
from grader.key import answer_key, problem_view
from grader.problemset.loader import load_problem_set
from grader.problemset.source import InputError, ProblemSetError
from grader.service.errors import Unavailable
from grader.service.text import find_unencodable

log = logging.getLogger(__name__)

#: what the fork server imports once, so that each child starts with the loader in memory and warm
#: (``setload_warm`` loads a small set of each kind)
PRELOAD = ["grader.service.setload", "grader.service.setload_warm"]


@dataclass(frozen=True)
class LoadLimits:
    seconds: float
    memory_mb: int
    at_once: int = 2


@dataclass(frozen=True)
class SetSummary:
    """What storing a version needs from a loaded set."""

    id: str
    title: str
    max_score: float
    warnings: tuple[str, ...]
    problems: tuple[dict[str, Any], ...]  # {"id", "title", "kind", "max_score"} in the file's order


class SetLoadRefused(ProblemSetError):
    """The set could not be loaded within the bounds (time, memory), or its loading failed outright."""


def check_and_summarize(text: str, file: str) -> SetSummary:
    """Load the set, compute its key and each problem's view (what the service later shows), and summarize it.

    Raises ``ProblemSetError`` for a broken file, including text that cannot be stored (a lone surrogate).
    """
    ps = load_problem_set(text, file)
    audit(ps)  # the instructor's warnings of SPEC 6.1.6, within the same bounds as the loading
    summary = SetSummary(id=ps.id, title=ps.title, max_score=ps.max_score, warnings=tuple(ps.warnings),
                         problems=tuple({"id": p.id, "title": p.title, "kind": p.kind, "max_score": p.max_score}
                                        for p in ps.problems))
    shown = {"set": {"title": summary.title, "problems": list(summary.problems), "warnings": list(summary.warnings)},
             "key": answer_key(ps, everything=True), "views": [problem_view(ps, "", p.id) for p in ps.problems]}
    found = find_unencodable(shown)
    if found is not None:
        raise ProblemSetError(found.describe("the set") + " (write the character itself, or a valid pair of "
                              "\\u escapes)", file=file)
    return summary


def load_summary(text: str, file: str, limits: LoadLimits | None) -> SetSummary:
    """``check_and_summarize`` in a bounded child process (or, without ``limits``, in this one)."""
    if limits is None:
        return check_and_summarize(text, file)
    slot = _slots(limits.at_once)
    if not slot.acquire(timeout=limits.seconds):
        raise Unavailable(f"{limits.at_once} other problem sets are being loaded on this server; send the file again "
                          "in a moment")
    try:
        return _in_child(text, file, limits)
    finally:
        slot.release()


_slot_lock = threading.Lock()
_slot_sems: dict[int, threading.BoundedSemaphore] = {}


def _slots(at_once: int) -> threading.BoundedSemaphore:
    with _slot_lock:
        if at_once not in _slot_sems:
            _slot_sems[at_once] = threading.BoundedSemaphore(at_once)
        return _slot_sems[at_once]


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def prestart() -> None:
    """Start the fork server now (it imports the loader once), so that the first upload does not wait for it."""
    try:
        ctx = _context()
        if ctx.get_start_method() == "forkserver":
            from multiprocessing import forkserver

            forkserver.ensure_running()
    except Exception:  # the first upload starts it then
        log.exception("could not start the problem-set loader's fork server")


def _in_child(text: str, file: str, limits: LoadLimits) -> SetSummary:
    ctx = _context()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, text, file, limits.memory_mb), daemon=True,
                          name="grader-set-load")
    try:
        process.start()
    except (OSError, RuntimeError) as exc:  # no process to be had: the server's trouble, not the file's
        sender.close()
        receiver.close()
        log.exception("could not start a process to load %s", file)
        raise Unavailable(f"the server cannot start a process to load the problem set ({type(exc).__name__}); "
                          "send it again in a moment") from None
    sender.close()
    started = time.monotonic()
    try:
        message = receiver.recv() if receiver.poll(limits.seconds) else None
    except EOFError:  # the child died without a word
        message = ("died", None)
    finally:
        receiver.close()
        elapsed = time.monotonic() - started
        if process.is_alive():
            process.kill()
        process.join()
    if message is None:
        log.warning("loading %s stopped after %.1f s (the limit)", file, elapsed)
        raise SetLoadRefused(f"loading this problem set took longer than {limits.seconds:g} s, the limit "
                             "(GRADER_SET_LOAD_SECONDS), and was stopped; nothing was stored. Make it smaller: "
                             "fewer layers, units or terms", file=file)
    kind, payload = message
    if kind == "ok":
        assert isinstance(payload, SetSummary)
        return payload
    if kind == "input":
        message_text, where = payload
        raise ProblemSetError(message_text, **where)
    if kind == "memory":
        raise SetLoadRefused(f"loading this problem set needs more than {limits.memory_mb} MiB of memory, the "
                             "limit (GRADER_SET_LOAD_MEMORY_MB), and was stopped; nothing was stored. Make it "
                             "smaller: fewer layers, units or terms", file=file)
    if kind == "failed":
        raise SetLoadRefused(f"the problem set could not be loaded: {payload}; nothing was stored", file=file)
    code = process.exitcode
    how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
    log.warning("loading %s: the child process stopped (%s)", file, how)
    raise SetLoadRefused(f"the process loading this problem set stopped ({how}), most likely out of memory or "
                         "recursion; nothing was stored. Make it smaller: fewer layers, units or terms", file=file)


def _child(sender: Connection, text: str, file: str, memory_mb: int) -> None:
    """In the child: limit the address space, load, and send back one message."""
    try:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # no such limit here: the time bound still holds
        pass
    message: tuple[str, Any]
    try:
        message = ("ok", check_and_summarize(text, file))
    except InputError as exc:
        where = {"file": exc.file, "problem": exc.problem, "field": exc.field, "line": exc.line}
        message = ("input", (exc.message, where))
    except MemoryError:
        message = ("memory", None)
    except RecursionError:
        message = ("failed", "it nests too deeply (RecursionError)")
    except Exception as exc:
        message = ("failed", f"{type(exc).__name__}: {str(exc)[:500]}")
    try:
        sender.send(message)
    except MemoryError:
        sender.send(("memory", None))
    finally:
        sender.close()
