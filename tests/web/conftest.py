"""A real `grader serve` on a free local port with its own SQLite file, and Debian's Chromium driven by Playwright.

The API's fixtures (``env``, ``course``: an app on a fresh SQLite file, served by a test client) come from
tests/service for the tests of pages and queries that need no browser.

The server is started once per test module, in a subprocess, exactly as a user starts it; the tests talk to
it over HTTP only (the JSON API to set up data, the browser for the pages). Screenshots of every page go to
``screenshots/`` at the repository root.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from grader.service import migrate
from grader.service.db import make_engine, make_sessionmaker
from tests.service.builders import add_user
from tests.service.conftest import course, env, migrated_template, settings  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
#: how long the server may take to answer its first health check (a bound on waiting, not a measurement)
START_TIMEOUT_S = 60.0
#: how long the browser tests wait for a page to show what they expect (grading runs in the server meanwhile)
EXPECT_TIMEOUT_MS = 20_000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    factory: sessionmaker[Session]
    log: Path
    pid: int

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0)

    def user(self, name: str, role: str) -> str:
        """Add a user straight in the database (as `grader user add` does); return their token."""
        return add_user(self.factory, name, role)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("served")) as served:
        yield served


@contextmanager
def running_server(folder: Path, memory_cap: int | None = None, **grader_settings: str) -> Iterator[Server]:
    """``grader serve`` in a subprocess on a free port, with a SQLite file in ``folder`` and ``GRADER_*`` settings
    (``set_load_seconds="3"``) as its environment gives them; ``memory_cap`` bytes of address space, if given."""
    url = f"sqlite:///{folder / 'grader.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    port = free_port()
    environment = {**os.environ, "GRADER_DATABASE_URL": url, "GRADER_BROKER_URL": "",
                   "GRADER_SWEEP_INTERVAL": "3600", "PYTHONUNBUFFERED": "1",
                   **{f"GRADER_{name.upper()}": value for name, value in grader_settings.items()}}
    log = folder / "server.log"
    with log.open("wb") as out:
        command = [sys.executable, "-m", "grader.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT,
                                   preexec_fn=None if memory_cap is None else _capped(memory_cap))
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, log)
        yield Server(base, make_sessionmaker(engine), log, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        engine.dispose()


def _capped(limit: int) -> Callable[[], None]:
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"grader serve exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base}/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"grader serve did not answer within {START_TIMEOUT_S} s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/browser.sh` (Debian's chromium package)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def shoot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as screenshots/NAME.png (after the page's own checks)."""
    check_page(page)
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def check_page(page: Any) -> None:
    """What every page must have: one main landmark, one h1, a label on every control, no dead ids."""
    problems = page.evaluate("""() => {
        const out = [];
        if (document.querySelectorAll("main").length !== 1) out.push("not exactly one <main>");
        if (document.querySelectorAll("h1").length !== 1) out.push("not exactly one <h1>");
        for (const el of document.querySelectorAll("input, select, textarea")) {
            if (el.type === "hidden") continue;
            const named = (el.labels && el.labels.length) || el.getAttribute("aria-label")
                || el.getAttribute("aria-labelledby");
            if (!named) out.push("no label: " + el.outerHTML.slice(0, 80));
        }
        for (const el of document.querySelectorAll("[aria-describedby], [aria-labelledby]")) {
            const ids = ((el.getAttribute("aria-describedby") || "") + " " +
                         (el.getAttribute("aria-labelledby") || "")).split(/\\s+/).filter(Boolean);
            for (const id of ids) if (!document.getElementById(id)) out.push("missing id " + id);
        }
        return out;
    }""")
    assert problems == [], problems


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)
