"""The service commands, run through ``grader``'s own entry point on an embedded database."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from grader.cli import main
from grader.service.settings import Settings
from tests.service.builders import TINY_SET, TINY_SET_V2, answers_text


@pytest.fixture
def db(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("GRADER_DATABASE_URL", settings.database_url)
    monkeypatch.delenv("GRADER_BROKER_URL", raising=False)
    return settings


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_course_from_the_command_line(db: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "user", "add", "prof", "--role", "instructor")
    assert code == 0 and out.startswith("grd_") and "shown only once" in err
    assert _run(capsys, "user", "add", "alice", "--role", "student")[0] == 0
    set_file = tmp_path / "tiny.yaml"
    set_file.write_text(TINY_SET)
    code, out, _ = _run(capsys, "upload", str(set_file))
    assert code == 0 and "tiny-net: version 1 (new set; 2 problems, 6 points, owner prof)" in out
    assert _run(capsys, "enrol", "tiny-net", "alice")[0] == 0

    from fastapi.testclient import TestClient

    from grader.service.api.main import create_app

    token = _run(capsys, "user", "token", "alice")[1].strip()
    with TestClient(create_app(Settings(database_url=db.database_url, sweep_interval=3600))) as client:
        response = client.post("/api/v1/sets/tiny-net/submissions", content=answers_text("alice"),
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 202
        client.app.state.service.dispatcher.wait_idle()  # type: ignore[attr-defined]

    set_file.write_text(TINY_SET_V2)
    code, out, _ = _run(capsys, "upload", str(set_file))
    assert code == 0 and "version 2 (new version" in out
    code, out, err = _run(capsys, "regrade", "tiny-net")
    assert code == 0 and "1 graded, 0 failed, 0 pending" in out
    assert "1/1" in err  # the progress bar

    target = tmp_path / "grades.csv"
    assert _run(capsys, "export", "tiny-net", "--csv", str(target))[0] == 0
    with target.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][-1] == "tiny-net: total" and rows[1][0] == "alice" and rows[1][-1] == "10"


def test_a_broken_file_is_refused_and_nothing_is_stored(db: Settings, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "user", "add", "prof", "--role", "instructor")
    broken = tmp_path / "broken.yaml"
    broken.write_text(TINY_SET.replace("z: w*x + b", "z: w*x + nope"))
    code, _, err = _run(capsys, "upload", str(broken))
    assert code == 1 and f"{broken}:11: problem q1, field forward.z" in err
    code, _, err = _run(capsys, "export", "tiny-net", "--csv", "-")
    assert code == 1 and "no problem set 'tiny-net'" in err


@pytest.mark.parametrize(("argv", "words"), [
    (["user", "add", "bad name", "--role", "student"], "user name 'bad name'"),
    (["regrade", "nope"], "no problem set 'nope'"),
    (["enrol", "nope", "alice"], "no problem set 'nope'"),
    (["user", "token", "ghost"], "no user 'ghost'"),
])
def test_command_errors_are_one_clear_line(db: Settings, capsys: pytest.CaptureFixture[str], argv: list[str],
                                           words: str) -> None:
    code, _, err = _run(capsys, *argv)
    assert code == 1 and words in err and "Traceback" not in err


def test_upload_needs_an_owner(db: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_file = tmp_path / "tiny.yaml"
    set_file.write_text(TINY_SET)
    code, _, err = _run(capsys, "upload", str(set_file))
    assert code == 1 and "no instructor yet" in err
    _run(capsys, "user", "add", "a", "--role", "instructor")
    _run(capsys, "user", "add", "b", "--role", "instructor")
    code, _, err = _run(capsys, "upload", str(set_file))
    assert code == 1 and "--instructor" in err
    assert _run(capsys, "upload", str(set_file), "--instructor", "b")[0] == 0
    assert _run(capsys, "user", "add", "a", "--role", "student")[2].count("already exists") == 1


def test_an_unmigrated_database_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GRADER_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    code, _, err = _run(capsys, "user", "add", "prof", "--role", "instructor")
    assert code == 1 and "grader db upgrade" in err
    assert _run(capsys, "db", "upgrade")[0] == 0
    assert _run(capsys, "user", "add", "prof", "--role", "instructor")[0] == 0
    assert _run(capsys, "db", "downgrade", "base")[0] == 0


def test_worker_needs_a_broker(db: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "worker")
    assert code == 1 and "GRADER_BROKER_URL" in err
