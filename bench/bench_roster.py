"""Benchmark adding a class: a 1,000-student roster imported and enrolled, against one ``grader user add`` each.

    python bench/bench_roster.py                 # 1,000 students, SQLite (and PostgreSQL if one answers)
    python bench/bench_roster.py --students 3000

Each figure is a whole command as an instructor runs it (a new process: start-up, reading, one
transaction, the tokens file). The baseline, in the same run, is ``grader user add`` for a few students,
one process each, and the time it would take for the whole class. PostgreSQL runs in a database of its
own, dropped afterwards. It prints figures; it asserts nothing about them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.services import postgres_database, postgres_reachable  # noqa: E402

BASELINE_USERS = 10


def grader(env: dict[str, str], cwd: Path, *args: str) -> float:
    """Seconds for one ``grader`` command (which must succeed)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"grader {' '.join(args)} failed: {done.stderr}")
    return seconds


@contextlib.contextmanager
def databases(folder: Path) -> Iterator[list[tuple[str, str]]]:
    found = [("SQLite", f"sqlite:///{folder / 'grader.db'}")]
    with contextlib.ExitStack() as stack:
        if postgres_reachable():
            found.append(("PostgreSQL", stack.enter_context(postgres_database("grader_bench_roster"))))
        yield found


def run(label: str, url: str, students: int, folder: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    env["GRADER_DATABASE_URL"] = url
    grader(env, folder, "db", "upgrade")
    roster = folder / f"{label}.csv"
    lines = ["user,role,email,name", "prof,instructor,prof@example.edu,The Prof"]
    lines += [f"s{i:05d},student,s{i:05d}@example.edu,Student {i}" for i in range(students)]
    roster.write_text("\n".join(lines) + "\n")
    set_file = folder / "set.yaml"
    set_file.write_text((ROOT / "problems" / "dl-hw2.yaml").read_text())
    baseline = [grader(env, folder, "user", "add", f"one{i}", "--role", "student") for i in range(BASELINE_USERS)]
    per_user = sum(baseline) / len(baseline)
    grader(env, folder, "user", "add", "owner", "--role", "instructor")
    grader(env, folder, "upload", str(set_file), "--instructor", "owner")
    seconds = grader(env, folder, "user", "import", str(roster), "--enrol", "dl-hw2",
                     "--tokens", str(folder / f"{label}.tokens.csv"))
    again = grader(env, folder, "user", "import", str(roster), "--enrol", "dl-hw2",
                   "--tokens", str(folder / f"{label}.again.csv"))
    print(f"{label}: {students + 1:,} users imported and {students:,} enrolled in {seconds:.2f} s "
          f"({(students + 1) / seconds:,.0f} users/s, one command); the same roster again (all unchanged) "
          f"{again:.2f} s")
    one_by_one = per_user * (students + 1)
    print(f"{label}: baseline `grader user add`, {per_user:.2f} s each ({BASELINE_USERS} runs): "
          f"{one_by_one:,.0f} s for the class; the import is {one_by_one / seconds:,.0f}x faster")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, databases(Path(tmp)) as found:
        for label, url in found:
            run(label, url, args.students, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
