"""Measure how far a formula check runs past its time bound, over a corpus of hostile answers.

    python bench/bench_time_bound.py [--time-limit SECONDS] [--repeat N] [--corpus FILE]

Every row of ``tests/symbolic/hostile_corpus.yaml`` (long sums, nested sums, deep nesting, huge
exponents, many variables, factorials, long formulas; each against a problem of ``problems/``) is
graded with ``grade_expression`` as a worker grades it: the problem set loaded and the key compiled
beforehand, the bound the problem's own ``time_limit`` (2 s unless ``--time-limit`` overrides it).
For each row it prints the elapsed time, the verdict and the overrun past the bound; then the worst
overrun as a percentage of the bound. The bound holds when that figure stays under 10 %.
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.problemset.loader import load_problem_set_file  # noqa: E402
from grader.problemset.model import ExpressionProblem  # noqa: E402
from grader.symbolic.grade import grade_expression  # noqa: E402

CORPUS = ROOT / "tests" / "symbolic" / "hostile_corpus.yaml"
TARGET = 0.10  # the worst overrun allowed, as a share of the bound


@cache
def problem(set_name: str, problem_id: str) -> ExpressionProblem:
    found = load_problem_set_file(ROOT / "problems" / f"{set_name}.yaml").problem(problem_id)
    assert isinstance(found, ExpressionProblem)
    return found


def run(rows: list[dict[str, Any]], time_limit: float | None, repeat: int) -> float:
    worst = 0.0
    print(f"{'seconds':>8} {'bound':>6} {'overrun':>8}  {'verdict':<10} row")
    for row in rows:
        p = problem(row["set"], row["problem"])
        saved = dict(p.options)
        if time_limit is not None:
            p.options["time_limit"] = time_limit
        bound = float(p.options["time_limit"])
        try:
            elapsed = 0.0
            verdict = ""
            for _ in range(repeat):
                start = time.perf_counter()
                result = grade_expression(p, row["answer"])
                elapsed = max(elapsed, time.perf_counter() - start)
                verdict = result.verdict.value
        finally:
            p.options.clear()
            p.options.update(saved)
        overrun = max(0.0, elapsed - bound) / bound
        worst = max(worst, overrun)
        print(f"{elapsed:8.3f} {bound:6.2f} {overrun:8.1%}  {verdict:<10} {row['set']}/{row['problem']}: "
              f"{row['note']}")
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=None, help="seconds per check (default: each "
                        "problem's own, 2 s)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per row; the slowest counts")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    rows = yaml.safe_load(args.corpus.read_text(encoding="utf-8"))["rows"]
    for row in rows:  # load every set before timing anything
        problem(row["set"], row["problem"])
    worst = run(rows, args.time_limit, args.repeat)
    print(f"\nworst overrun: {worst:.1%} of the bound over {len(rows)} hostile answers "
          f"({'within' if worst < TARGET else 'OVER'} the {TARGET:.0%} target)")
    return 0 if worst < TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
