"""Benchmark the expression checker on the equivalence table, against ``sympy.simplify(a - b) == 0``.

    python bench/bench_symbolic.py [--timeout 10] [--limit N] [--no-baseline]

For every row of ``tests/symbolic/cases.yaml`` it times ``grade_expression`` (problem sets loaded and
keys compiled beforehand, as in a running worker) and checks the verdict against the table. In the
same run it times the baseline on every row where both formulas can be read: the key and the answer
are built as sympy expressions (``grader.symbolic.to_sympy``) and ``sympy.simplify`` of their
difference is compared with 0, in a child process that is killed after ``--timeout`` seconds. It
prints the median, p99 and maximum time per check, the ratio of total times, and the rows where the
baseline is wrong or does not finish.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from dataclasses import dataclass
from functools import cache
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.expr import ExpressionError, read_answer  # noqa: E402
from grader.problemset.loader import load_problem_set_file  # noqa: E402
from grader.problemset.model import ExpressionProblem  # noqa: E402
from grader.symbolic.grade import grade_expression  # noqa: E402
from grader.symbolic.to_sympy import SympyConverter  # noqa: E402

CASES = ROOT / "tests" / "symbolic" / "cases.yaml"
Row = tuple[str, str, Any, str, str | None]


@dataclass
class Outcome:
    row: Row
    seconds: float
    verdict: str
    baseline: str = "n/a"  # equal, different, timeout, error, n/a
    baseline_seconds: float = 0.0


@cache
def problem(set_name: str, problem_id: str) -> ExpressionProblem:
    for folder in (ROOT / "problems", ROOT / "tests" / "symbolic"):
        path = folder / f"{set_name}.yaml"
        if path.exists():
            found = load_problem_set_file(path).problem(problem_id)
            assert isinstance(found, ExpressionProblem)
            return found
    raise FileNotFoundError(set_name)


def ours(rows: list[Row]) -> list[Outcome]:
    for set_name, pid, answer, _, _ in rows:  # warm up: load, compile, fill the exact caches
        grade_expression(problem(set_name, pid), answer)
    out = []
    for row in rows:
        set_name, pid, answer, _, _ = row
        start = time.perf_counter()
        result = grade_expression(problem(set_name, pid), answer)
        out.append(Outcome(row, time.perf_counter() - start, result.verdict.value))
    return out


def _baseline_worker(conn: Connection) -> None:
    import sympy

    while True:
        row = conn.recv()
        if row is None:
            return
        set_name, pid, answer = row
        p = problem(set_name, pid)
        assert p.space is not None and p.answer is not None
        try:
            tree = read_answer(answer, p.space.symbols(), indices=p.space.indices)
            convert = SympyConverter(p.space)
            key, student = convert(p.answer), convert(tree)
        except (ExpressionError, ValueError, TypeError):
            conn.send(("n/a", 0.0))
            continue
        start = time.perf_counter()
        try:
            same = sympy.simplify(key - student) == 0
            verdict = "equal" if same else "different"
        except Exception:  # the baseline's own failures are part of what is measured
            verdict = "error"
        conn.send((verdict, time.perf_counter() - start))


class Baseline:
    """A child process running the baseline, replaced whenever a row exceeds the timeout."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._start()

    def _start(self) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_baseline_worker, args=(child,), daemon=True)
        self.process.start()

    def run(self, row: Row) -> tuple[str, float]:
        set_name, pid, answer, _, _ = row
        if not isinstance(answer, str) or not answer.strip():
            return "n/a", 0.0
        self.conn.send((set_name, pid, answer))
        if self.conn.poll(self.timeout):
            verdict, seconds = self.conn.recv()
            return str(verdict), float(seconds)
        self.process.kill()
        self.process.join()
        self._start()
        return "timeout", self.timeout

    def close(self) -> None:
        self.conn.send(None)
        self.process.join(timeout=5)


def expected_equal(row: Row) -> bool | None:
    verdict = row[3]
    return True if verdict == "correct" else False if verdict == "incorrect" else None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per baseline row")
    parser.add_argument("--limit", type=int, default=0, help="only the first N rows")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)

    rows: list[Row] = [tuple(r) for r in yaml.safe_load(CASES.read_text(encoding="utf-8"))]
    if args.limit:
        rows = rows[:args.limit]
    outcomes = ours(rows)
    times = [o.seconds * 1000 for o in outcomes]
    wrong = [o for o in outcomes if o.verdict != o.row[3]]
    print(f"rows: {len(rows)}")
    print(f"checker  median {statistics.median(times):.2f} ms   p99 {percentile(times, 0.99):.2f} ms   "
          f"max {max(times):.2f} ms   total {sum(times) / 1000:.2f} s")
    print(f"checker verdicts that differ from the table: {len(wrong)}")
    for o in wrong:
        print(f"  {o.row[1]}: {o.row[2]!r} expected {o.row[3]}, got {o.verdict}")
    if args.no_baseline:
        return 1 if wrong else 0

    baseline = Baseline(args.timeout)
    for o in outcomes:
        if expected_equal(o.row) is not None:
            o.baseline, o.baseline_seconds = baseline.run(o.row)
    baseline.close()
    compared = [o for o in outcomes if o.baseline != "n/a"]
    ours_total = sum(o.seconds for o in compared)
    base_total = sum(o.baseline_seconds for o in compared)
    base_times = [o.baseline_seconds * 1000 for o in compared]
    timeouts = [o for o in compared if o.baseline == "timeout"]
    base_wrong = [o for o in compared if o.baseline in ("equal", "different", "error")
                  and (o.baseline == "equal") != expected_equal(o.row)]
    print()
    print(f"baseline sympy.simplify(a - b) == 0 on {len(compared)} rows (timeout {args.timeout:g} s per row)")
    print(f"baseline median {statistics.median(base_times):.1f} ms   p99 {percentile(base_times, 0.99):.1f} ms   "
          f"max {max(base_times):.1f} ms   total {base_total:.1f} s (timeouts counted at the timeout)")
    ratio = base_total / ours_total if ours_total else float("inf")
    median_ratio = statistics.median(base_times) / statistics.median([o.seconds * 1000 for o in compared])
    print(f"speed-up: total {ratio:.0f}x{' (at least: timeouts)' if timeouts else ''}, median {median_ratio:.0f}x")
    equal_rows = [o for o in compared if expected_equal(o.row)]
    rejected = [o for o in base_wrong if expected_equal(o.row)]
    print(f"baseline wrong: {len(base_wrong)} rows ({len(rejected)} of {len(equal_rows)} equal pairs rejected, "
          f"{len(base_wrong) - len(rejected)} unequal pairs accepted); did not finish: {len(timeouts)}")
    for o in base_wrong:
        print(f"  wrong   {o.row[1]}: {o.row[2]!r} is {o.row[3]}, baseline says {o.baseline}")
    for o in timeouts:
        print(f"  timeout {o.row[1]}: {o.row[2]!r}")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
