"""A real `grader serve`: an uploaded set that is slow to load is stopped at GRADER_SET_LOAD_SECONDS with a
clear 422 (API and upload page), while the server goes on answering everyone else, and the load's memory
is never the server's."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.test_setload import wide_set
from tests.web.conftest import Server, csrf_of, running_server

BOUND_S = 0.01  # below what the largest accepted network takes to load (about 0.1 s)


@pytest.fixture(scope="module")
def bounded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("bounded"), set_load_seconds=str(BOUND_S)) as served:
        yield served


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert found is not None
    return int(found.group(1)) / 1024


def test_a_slow_upload_is_refused_at_the_bound_while_other_requests_are_served(bounded_server: Server) -> None:
    prof = bounded_server.user("prof", "instructor")
    student = bounded_server.user("sam", "student")
    latencies: list[float] = []
    failures: list[int] = []
    done = threading.Event()

    def others() -> None:
        with bounded_server.api(student) as client:
            while not done.is_set():
                start = time.monotonic()
                response = client.get("/api/v1/users/me")
                latencies.append(time.monotonic() - start)
                if response.status_code != 200:
                    failures.append(response.status_code)
                time.sleep(0.05)

    poller = threading.Thread(target=others)
    with bounded_server.api(prof) as client:
        poller.start()
        time.sleep(0.3)
        start = time.monotonic()
        response = client.post("/api/v1/sets", content=wide_set())
        elapsed = time.monotonic() - start
        done.set()
        poller.join()
        assert response.status_code == 422, response.text
        body = response.json()
        assert f"took longer than {BOUND_S:g} s, the limit (GRADER_SET_LOAD_SECONDS)" in body["detail"]
        assert body["error"]["file"] == "upload"
        assert elapsed < BOUND_S + 2.0
        assert client.get("/api/v1/sets").json() == []  # nothing stored
        assert failures == []
        assert latencies and max(latencies) < 1.0, (len(latencies), max(latencies))
        assert _peak_rss_mb(bounded_server.pid) < 300  # the set was loaded in the child, not here


def test_the_upload_page_refuses_a_slow_set_with_the_same_message(bounded_server: Server) -> None:
    prof = bounded_server.user("pat", "instructor")
    with httpx.Client(base_url=bounded_server.url, timeout=30.0) as browser:
        signed = browser.post("/signin", data={"token": prof, "next": "/upload"}, follow_redirects=True)
        assert signed.status_code == 200
        start = time.monotonic()
        page = browser.post("/upload", data={"csrf": csrf_of(signed.text), "source": wide_set(),
                                             "filename": "wide.yaml"})
        assert time.monotonic() - start < BOUND_S + 2.0
        assert page.status_code == 422
        assert f"took longer than {BOUND_S:g} s, the limit (GRADER_SET_LOAD_SECONDS)" in page.text
        assert browser.get("/sets").text.count("wide-net") == 0
