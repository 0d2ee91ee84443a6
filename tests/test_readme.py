"""The README's command blocks, run as a reader would paste them (the quick start is what .ci/run runs).

Each block runs in bash with ``-e`` in a fresh folder holding a copy of ``problems/``, with this
environment's ``grader`` on the PATH. The only change made to a block: the port 8000 becomes a free one
(GRADER_PORT is set to it), and in the distributed block the two service URLs point at this run's own
PostgreSQL database and Redis.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.readme_commands import block
from tests.services import REDIS_MISSING, PrivateRedis, free_port, postgres_database
from tests.workers.databases import require_postgres

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "problems", tmp_path / "problems")
    return tmp_path


def _run(script: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 240) -> \
        subprocess.CompletedProcess[str]:
    """Run ``script`` in bash -e in a session of its own; whatever it left running is stopped after.

    Output goes to files, not pipes: a server the block leaves in the background would hold a pipe open.
    """
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_") or k.startswith("GRADER_TEST_")}
    logs = Path(tempfile.mkdtemp(prefix="readme-block-"))  # never inside the folder (it may be the checkout)
    out_path, err_path = logs / "stdout", logs / "stderr"
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen(["bash", "-e", "-c", script], cwd=cwd, env={**clean, "PATH": path, **(env or {})},
                                   stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            process.wait(timeout=timeout)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, out_path.read_text(), err_path.read_text())


def test_the_quick_start_is_two_commands_that_ci_runs() -> None:
    commands = block("Quick start").splitlines()
    assert commands == ["pip install -e '.[dev]' && grader check problems/dl-hw2.yaml problems/dl-hw2.answers.yaml",
                        "bash scripts/test.sh"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'readme_commands.py "Quick start"' in ci and "venv" in ci


def test_the_embedded_block_runs_as_written(folder: Path) -> None:
    port = free_port()
    script = block("Embedded").replace("8000", str(port))
    done = _run(script, folder, env={"GRADER_PORT": str(port)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert (folder / "prof.token").read_text().startswith("grd_")
    assert (folder / "roster.tokens.csv").stat().st_mode & 0o777 == 0o600
    assert '"status":"queued"' in done.stdout or '"status":"graded"' in done.stdout
    with (folder / "grades.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[1][0] == "s123" and rows[1][-1] not in ("", "0"), rows  # graded before the server stopped


def test_the_more_to_try_block_runs_as_written() -> None:
    done = _run(block("More to try"), ROOT, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "keys/s" in done.stdout


@pytest.fixture
def services() -> Iterator[tuple[str, str]]:
    require_postgres()
    try:
        redis_server = PrivateRedis()
    except FileNotFoundError:
        pytest.skip(REDIS_MISSING)
    redis_server.start()
    try:
        with postgres_database("grader_readme") as url:
            yield url, redis_server.url(0)
    finally:
        redis_server.close()


def test_the_distributed_block_runs_as_written(folder: Path, services: tuple[str, str]) -> None:
    database_url, broker_url = services
    script = block("Distributed")
    assert "export GRADER_DATABASE_URL=postgresql+psycopg://grader:grader@localhost/grader" in script
    script = (script.replace("postgresql+psycopg://grader:grader@localhost/grader", database_url)
              .replace("redis://localhost:6379/0", broker_url))
    done = _run(script, folder, env={"GRADER_PORT": str(free_port()), "GRADER_WORKER_CONCURRENCY": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "dl-hw2: nothing to regrade: the set has no submissions yet" in done.stdout
