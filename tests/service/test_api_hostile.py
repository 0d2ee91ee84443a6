"""The hostile corpus (tests/hostile_corpus.py) through the HTTP API of a real ``grader serve``.

The server runs in its own process with a 2 GiB address-space cap. Each refused file must be answered
with a clear 4xx within 2 s and leave the database as it was; each file that is accepted must be graded
(a number too large to compare makes that one answer invalid, not the submission), and the server must
stay up and answer others throughout.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from grader.service.models import Grade, SetVersion, Submission
from tests.hostile_corpus import CASES, SET_TEXT, Case
from tests.web.conftest import Server, running_server

MEMORY_CAP = 2 * 1024**3
ANSWER_REFUSAL_S = 2.0
SET_REFUSAL_S = 2.0 + 1.0  # the reader's bound, plus handing the file to the loading child and back
GRADE_WAIT_S = 60.0


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, str]]:
    limits_off = {"submissions_per_hour": "0", "submit_burst": "0", "preview_burst": "0"}
    with running_server(tmp_path_factory.mktemp("hostile"), memory_cap=MEMORY_CAP, **limits_off) as served:
        prof = served.user("prof", "instructor")
        student = served.user("s123", "student")
        with served.api(prof) as client:
            assert client.post("/api/v1/sets", content=SET_TEXT).status_code == 201
            assert client.post("/api/v1/sets/dl-hw2/students", json={"students": ["s123"]}).status_code == 200
        yield served, prof, student


def _counts(server: Server) -> tuple[int, int, int]:
    with server.factory() as session:
        return (session.scalar(select(func.count()).select_from(Submission)) or 0,
                session.scalar(select(func.count()).select_from(Grade)) or 0,
                session.scalar(select(func.count()).select_from(SetVersion)) or 0)


def _feedback(result: dict[str, Any]) -> str:
    return " ".join(f"{part.get('verdict')} {part.get('feedback')}" for problem in result["problems"]
                    for part in problem["parts"])


def _post(server: Server, client: httpx.Client, path: str, case: Case, bound: float) -> httpx.Response | None:
    """Send the case; a file to be refused must be refused (4xx, saying why) within ``bound`` and store
    nothing, and then None is returned; otherwise the response."""
    before = _counts(server)
    start = time.monotonic()
    response = client.post(path, content=case.text)
    elapsed = time.monotonic() - start
    if not case.refused:
        return response
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["detail"] and case.says in response.text, (case.says, response.text)
    assert elapsed < bound, elapsed
    assert _counts(server) == before  # nothing stored
    return None


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "answers"], ids=lambda c: c.name)
def test_an_answers_file(hostile_server: tuple[Server, str, str], case: Case) -> None:
    server, prof, student = hostile_server
    with server.api(student) as client:
        response = _post(server, client, "/api/v1/sets/dl-hw2/submissions", case, ANSWER_REFUSAL_S)
        if response is None:
            return
        assert response.status_code == 202, response.text
        url = response.headers["location"]
        deadline = time.monotonic() + GRADE_WAIT_S
        while (body := client.get(url).json())["status"] == "queued":
            assert time.monotonic() < deadline, "not graded in time"
            time.sleep(0.1)
    assert body["status"] == "graded", body
    with server.api(prof) as instructor:  # the instructor's view has every wording
        full = instructor.get(url).json()
    assert case.says in _feedback(full["grade"]["result"]), _feedback(full["grade"]["result"])
    assert full["grade"]["score"] is not None


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "set"], ids=lambda c: c.name)
def test_a_problem_set_file(hostile_server: tuple[Server, str, str], case: Case) -> None:
    server, prof, _ = hostile_server
    with server.api(prof) as client:
        response = _post(server, client, "/api/v1/sets", case, SET_REFUSAL_S)
        if response is not None:
            assert response.status_code in (201, 409), response.text  # 409: a case before stored the same id
        assert client.get("/health").status_code == 200


def test_the_server_lived_through_the_corpus_within_its_cap(hostile_server: tuple[Server, str, str]) -> None:
    server, _, student = hostile_server
    with server.api(student) as client:
        assert client.get("/api/v1/users/me").json() == {"name": "s123", "role": "student"}
    status = Path(f"/proc/{server.pid}/status").read_text()
    peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    assert peak_kb * 1024 < MEMORY_CAP
