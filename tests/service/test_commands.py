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
    assert code == 0 and "1 graded now (0 failed), 0 already graded against version 2, 0 pending" in out
    assert "1/1" in err  # the progress bar
    code, out, err = _run(capsys, "regrade", "tiny-net")  # unchanged since: says so, grades nothing
    assert code == 0 and out == "tiny-net: nothing to regrade: all 1 submission(s) are already graded against " \
                                "version 2\n"
    assert "/s" not in err
    from sqlalchemy import create_engine, text

    engine = create_engine(db.database_url)
    with engine.connect() as conn:  # the run that had nothing to do left no job behind
        assert conn.execute(text("SELECT count(*) FROM regrade_jobs")).scalar() == 1
    engine.dispose()

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


def test_the_embedded_database_is_created_by_the_first_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GRADER_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    code, out, _ = _run(capsys, "user", "add", "prof", "--role", "instructor")
    assert code == 0 and out.startswith("grd_")
    assert _run(capsys, "db", "upgrade")[0] == 0  # already current: nothing to do, no harm
    assert _run(capsys, "db", "downgrade", "base")[0] == 0
    assert _run(capsys, "user", "add", "ann", "--role", "student")[0] == 0  # an old schema is brought up to date


def test_an_unmigrated_server_database_is_reported(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from tests.services import postgres_database
    from tests.workers.databases import require_postgres

    require_postgres()
    with postgres_database("grader_cmd") as url:
        monkeypatch.setenv("GRADER_DATABASE_URL", url)
        code, _, err = _run(capsys, "user", "add", "prof", "--role", "instructor")
        assert code == 1 and "grader db upgrade" in err


def test_worker_needs_a_broker(db: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "worker")
    assert code == 1 and "GRADER_BROKER_URL" in err


ROSTER = "user,role,email,name\nprof,instructor,prof@uni.edu,The Prof\nalice,student,,Alice A\nBob,student,b@uni.edu,\n"


def test_a_roster_is_imported_with_tokens_in_a_private_file(db: Settings, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    roster = tmp_path / "class.csv"
    roster.write_text(ROSTER)
    code, out, err = _run(capsys, "user", "import", str(roster))
    assert code == 0, err
    assert "3 user(s) added, 0 updated, 0 unchanged" in out
    tokens_file = tmp_path / "class.tokens.csv"
    assert (tokens_file.stat().st_mode & 0o777) == 0o600
    with tokens_file.open(newline="") as f:
        tokens = {row["user"]: row["token"] for row in csv.DictReader(f)}
    assert set(tokens) == {"prof", "alice", "Bob"}
    assert not any(t in out + err for t in tokens.values())  # never on the terminal

    from fastapi.testclient import TestClient

    from grader.service.api.main import create_app

    with TestClient(create_app(Settings(database_url=db.database_url, sweep_interval=3600))) as client:
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['Bob']}"})
        assert me.json() == {"name": "Bob", "role": "student"}

    # again, with a changed e-mail and a new student, enrolling the students: existing users keep their tokens
    set_file = tmp_path / "tiny.yaml"
    set_file.write_text(TINY_SET)
    assert _run(capsys, "upload", str(set_file))[0] == 0
    roster.write_text(ROSTER.replace("b@uni.edu", "bob@uni.edu") + "carol,student,,\n")
    code, out, err = _run(capsys, "user", "import", str(roster), "--enrol", "tiny-net")
    assert code == 1 and "exists" in err  # a new token is due, and the earlier tokens file is never overwritten
    roster.write_text(ROSTER)
    code, out, err = _run(capsys, "user", "import", str(roster))  # nothing new: the old file is no obstacle
    assert code == 0 and "0 user(s) added" in out and "no new tokens" in out, err
    roster.write_text(ROSTER.replace("b@uni.edu", "bob@uni.edu") + "carol,student,,\n")
    code, out, err = _run(capsys, "user", "import", str(roster), "--enrol", "tiny-net",
                          "--tokens", str(tmp_path / "new.csv"))
    assert code == 0, err
    assert "1 user(s) added, 1 updated, 2 unchanged; tiny-net: 3 newly enrolled" in out
    with (tmp_path / "new.csv").open(newline="") as f:
        assert [row["user"] for row in csv.DictReader(f)] == ["carol"]
    code, out, _ = _run(capsys, "enrol", "tiny-net", "ALICE", "carol")
    assert code == 0 and "enrolled 0 new student(s)" in out


@pytest.mark.parametrize(("roster", "words"), [
    (ROSTER + "ALICE,student,,\n", ":5: user 'ALICE' is also on line 3"),
    (ROSTER + "dan,ta,,\n", ":5: unknown role 'ta'"),
    (ROSTER.replace("alice,", "\nalice,"), ":3: an empty row between rows"),
    (ROSTER + "\ufeffdan,student,,\n", ":5: a byte-order mark"),
    (ROSTER + "=1+1,student,,\n", ":5: the user '=1+1' starts with '='"),
])
def test_a_bad_roster_creates_nobody(db: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     roster: str, words: str) -> None:
    assert _run(capsys, "user", "add", "zed", "--role", "student")[0] == 0
    path = tmp_path / "class.csv"
    path.write_text(roster, encoding="utf-8")
    code, _, err = _run(capsys, "user", "import", str(path))
    assert code == 1 and words in err and "nothing was imported" in err
    assert not (tmp_path / "class.tokens.csv").exists()
    from sqlalchemy import create_engine, text

    engine = create_engine(db.database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM users")).scalars().all() == ["zed"]
    engine.dispose()


def test_a_failed_import_leaves_no_tokens_file(db: Settings, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "class.csv"
    path.write_text(ROSTER)
    code, _, err = _run(capsys, "user", "import", str(path), "--enrol", "no-such-set")
    assert code == 1 and "no-such-set" in err
    assert not (tmp_path / "class.tokens.csv").exists()


def test_enrol_reports_each_name(db: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, role in (("prof", "instructor"), ("alice", "student")):
        assert _run(capsys, "user", "add", name, "--role", role)[0] == 0
    set_file = tmp_path / "tiny.yaml"
    set_file.write_text(TINY_SET)
    assert _run(capsys, "upload", str(set_file))[0] == 0
    code, out, err = _run(capsys, "enrol", "tiny-net", "Alice", "alicia", "prof")
    assert code == 1
    assert "enrolled 1 new student(s); 2 name(s) not enrolled" in out
    assert "alicia: no such user (did you mean 'alice'?)" in err and "prof: not a student" in err
