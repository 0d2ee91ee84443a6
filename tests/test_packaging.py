"""A plain install: the built wheel holds everything the commands need (migrations, templates, static files).

The wheel is built from this checkout and installed, without its dependencies, into a new virtual
environment that borrows this environment's installed packages (a ``.pth`` line; the editable checkout is
not among them). Its ``grader`` then runs in an empty folder: ``db upgrade``, ``user import``, ``serve``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import sysconfig
import time
import venv
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.services import free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                           str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (found,) = out.glob("grader-*.whl")
    return found


def test_the_wheel_holds_the_migrations_templates_and_static_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("grader/migrations/env.py", "grader/migrations/script.py.mako",
                 "grader/migrations/versions/0001_initial_schema.py", "grader/web/templates/base.html",
                 "grader/web/static/app.js", "grader/py.typed", "workers/app.py"):
        assert name in names, name


def test_the_installed_wheel_runs_upgrade_import_and_serve(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # this environment's packages, for the dependencies; the checkout itself is not on that path
    borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "borrowed.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    grader = env_dir / "bin" / "grader"
    folder = tmp_path / "course"
    folder.mkdir()
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_") and k != "PYTHONPATH"}
    env = {**clean, "GRADER_DATABASE_URL": f"sqlite:///{folder / 'grader.db'}", "GRADER_PORT": str(port)}

    where = subprocess.run([str(python), "-c", "import grader; print(grader.__file__)"], cwd=folder, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in where and str(ROOT) not in where  # the installed copy, not the checkout

    upgraded = subprocess.run([str(grader), "db", "upgrade"], cwd=folder, env=env, capture_output=True, text=True,
                              timeout=120)
    assert upgraded.returncode == 0, upgraded.stderr
    (folder / "roster.csv").write_text("user,role\nprof,instructor\nann,student\n")
    imported = subprocess.run([str(grader), "user", "import", "roster.csv"], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    token = next(line.split(",")[1] for line in (folder / "roster.tokens.csv").read_text().splitlines()
                 if line.startswith("ann,"))

    server = subprocess.Popen([str(grader), "serve"], cwd=folder, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                me = httpx.get(f"http://127.0.0.1:{port}/api/v1/users/me",
                               headers={"Authorization": f"Bearer {token}"}, timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, "grader serve exited"
                assert time.monotonic() < deadline, "grader serve did not answer"
                time.sleep(0.2)
        assert me.json() == {"name": "ann", "role": "student"}
        page = httpx.get(f"http://127.0.0.1:{port}/static/style.css", timeout=5)
        assert page.status_code == 200 and len(page.content) > 100
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
