"""The hostile corpus through the reader and through the command line: a clear end, quickly, in bounded memory.

Each command-line case runs in its own process capped at 2 GiB of address space; its CPU time (the
work the file caused, start-up included) must stay within the case's bound, and nothing may print a
traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from grader.grading.answers import read_answers
from grader.grading.grade import grade
from grader.problemset.loader import load_problem_set
from grader.problemset.model import ProblemSet
from grader.problemset.source import InputError
from tests.hostile_corpus import CASES, ROOT, SET_TEXT, Case

MEMORY_CAP = 2 * 1024**3
WALL_LIMIT = 30.0  # a case still running then is killed (and fails)
CHILD = (
    "import resource, sys\n"
    f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_CAP}, {MEMORY_CAP}))\n"
    "from grader.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@cache
def dl_hw2() -> ProblemSet:
    return load_problem_set(SET_TEXT, "dl-hw2.yaml")


def feedback_of(result: dict[str, Any]) -> str:
    return " ".join(str(part["feedback"]) for problem in result["problems"] for part in problem["parts"])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_through_the_reader(case: Case) -> None:
    if case.seconds is None:
        pytest.skip("bounded by the problem's check time limit, not by the reader: run by the command-line test")
    start = time.process_time()
    if case.refused:
        with pytest.raises(InputError) as info:
            if case.kind == "answers":
                read_answers(case.text, "hostile.yaml")
            else:
                load_problem_set(case.text, "hostile.yaml")
        assert case.says in str(info.value) and str(info.value).startswith("hostile.yaml")
    elif case.kind == "answers":
        result = grade(dl_hw2(), read_answers(case.text, "hostile.yaml")).to_dict()
        json.dumps(result, allow_nan=False, ensure_ascii=False).encode()  # strict JSON, valid UTF-8
        assert case.says in feedback_of(result)
    else:
        load_problem_set(case.text, "hostile.yaml")
    assert time.process_time() - start < case.seconds


@dataclass
class Run:
    code: int
    out: str
    err: str
    cpu: float  # seconds, user and system
    wall: float
    peak_mb: float


def run_cli(*argv: str, folder: Path) -> Run:
    """``grader ARGV`` in a process of its own, capped at 2 GiB; its resource use read when it ends."""
    out_path, err_path = folder / f"out{threading.get_ident()}", folder / f"err{threading.get_ident()}"
    start = time.perf_counter()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen([sys.executable, "-c", CHILD, *argv], cwd=ROOT, stdout=out, stderr=err,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)})
        timer = threading.Timer(WALL_LIMIT, process.kill)
        timer.start()
        _, status, usage = os.wait4(process.pid, 0)
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(process.returncode, out_path.read_text(encoding="utf-8"), err_path.read_text(encoding="utf-8"),
               usage.ru_utime + usage.ru_stime, time.perf_counter() - start, usage.ru_maxrss / 1024)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    folder: Path = tmp_path_factory.mktemp("hostile")
    the_set = folder / "dl-hw2.yaml"
    the_set.write_text(SET_TEXT, encoding="utf-8")
    jobs: dict[str, list[str]] = {}
    for k, case in enumerate(CASES):
        path = folder / f"case{k}.{'json' if case.text.startswith('{') else 'yaml'}"
        path.write_text(case.text, encoding="utf-8")
        jobs[case.name] = (["check", str(the_set), str(path), "--format", "json"] if case.kind == "answers"
                           else ["validate", str(path)])
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        done = dict(zip(jobs, pool.map(lambda argv: run_cli(*argv, folder=folder), jobs.values()), strict=True))
    return done


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_through_the_command_line(case: Case, runs: dict[str, Run]) -> None:
    run = runs[case.name]
    assert "Traceback" not in run.err and "Error:" not in run.err.replace("grader: ", ""), run.err[-2000:]
    if case.refused:
        assert run.code == 1 and run.out == ""
        assert run.err.startswith("grader: ") and case.says in run.err, run.err[:500]
    else:
        assert run.code == 0, run.err[-2000:]
        if case.kind == "answers":
            assert case.says in feedback_of(json.loads(run.out))
    assert run.wall < WALL_LIMIT
    if case.seconds is not None:
        assert run.cpu < case.seconds, f"{run.cpu:.2f} s of CPU"
    assert run.peak_mb < MEMORY_CAP / 1024**2
