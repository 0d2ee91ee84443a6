"""Service subcommands of ``grader``: serve, worker, db, user, upload, enrol, regrade, export.

The commands other than serve and worker act on the database named by GRADER_DATABASE_URL directly, as the
server's administrator would; a regrade is handed to the workers (or graded in this process when embedded).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from grader.service.db import make_engine, make_sessionmaker
from grader.service.errors import Invalid, NotFound, ServiceError
from grader.service.models import RegradeJob, Role, SetVersion, User
from grader.service.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

Command = Callable[[argparse.Namespace], int]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the service subcommands to the ``grader`` command line."""
    serve = sub.add_parser("serve", help="run the HTTP service (embedded: SQLite, grading in-process)")
    serve.add_argument("--host", help="address to listen on (GRADER_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (GRADER_PORT, default 8000)")
    serve.set_defaults(func=_serve)

    worker = sub.add_parser("worker", help="run a Celery worker (needs GRADER_BROKER_URL)")
    worker.add_argument("--concurrency", type=int, help="processes (default: GRADER_WORKER_CONCURRENCY or cores)")
    worker.add_argument("--loglevel", default="info", choices=("debug", "info", "warning", "error"))
    worker.add_argument("--ping", action="store_true", help="ask the worker named GRADER_WORKER_NAME (or, "
                        "without it, every worker) whether it answers, and exit 0 if it does: a healthcheck")
    worker.add_argument("--timeout", type=float, default=5.0, help="seconds --ping waits for an answer")
    worker.set_defaults(func=_worker)

    db = sub.add_parser("db", help="the database schema").add_subparsers(dest="db_command", required=True)
    up = db.add_parser("upgrade", help="migrate the database to the newest schema")
    up.add_argument("revision", nargs="?", default="head")
    up.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                    help="keep trying this long while the database does not accept connections (a container "
                         "starting beside its database)")
    up.set_defaults(func=_db_upgrade)
    down = db.add_parser("downgrade", help="migrate the database back to REVISION (base: empty)")
    down.add_argument("revision")
    down.set_defaults(func=_db_downgrade)

    user = sub.add_parser("user", help="users and tokens").add_subparsers(dest="user_command", required=True)
    add = user.add_parser("add", help="add a user and print their token")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.set_defaults(func=_user_add)
    imp = user.add_parser("import", help="add or update the users of a roster CSV (user,role[,email,name]); "
                          "their tokens go to a file only its owner can read")
    imp.add_argument("roster", metavar="ROSTER.csv")
    imp.add_argument("--tokens", metavar="FILE", help="where the new tokens are written as CSV user,token "
                     "(default: ROSTER.tokens.csv beside the roster; never overwritten)")
    imp.add_argument("--enrol", action="append", default=[], metavar="SET",
                     help="also enrol the roster's students in SET (may be repeated)")
    imp.add_argument("--new-tokens", action="store_true",
                     help="give every user in the roster a new token (their old ones stop working)")
    imp.set_defaults(func=_user_import)
    token = user.add_parser("token", help="give a user a new token (the old one stops working)")
    token.add_argument("name")
    token.set_defaults(func=_user_token)

    upload = sub.add_parser("upload", help="store a problem set (a changed file makes a new version)")
    upload.add_argument("problem_set", metavar="SET.yaml")
    upload.add_argument("--instructor", metavar="NAME", help="the owner of a new set (default: the only "
                        "instructor)")
    upload.set_defaults(func=_upload)

    enrol = sub.add_parser("enrol", help="enrol students in a set")
    enrol.add_argument("set_id", metavar="SET")
    enrol.add_argument("students", nargs="+", metavar="STUDENT")
    enrol.set_defaults(func=_enrol)

    regrade = sub.add_parser("regrade", help="grade every submission of a set against its current version")
    regrade.add_argument("set_id", metavar="SET")
    regrade.add_argument("--mode", choices=("batch", "single"), default="batch")
    regrade.add_argument("--no-wait", action="store_true", help="start it and return")
    regrade.set_defaults(func=_regrade)

    export = sub.add_parser("export", help="write a set's grades as a Canvas/Moodle gradebook CSV")
    export.add_argument("set_id", metavar="SET")
    export.add_argument("--csv", required=True, metavar="FILE", help="the file to write ('-': standard output)")
    export.set_defaults(func=_export)


def _reported(func: Callable[[argparse.Namespace, Settings, sessionmaker[Session]], int]) -> Command:
    """Open the database for a command, and turn the service's errors into a message and exit status 1."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        settings = Settings()
        if settings.database_url.startswith("sqlite"):
            _embedded_database(settings.database_url)
        engine = make_engine(settings.database_url)
        try:
            return func(args, settings, make_sessionmaker(engine))
        except ServiceError as exc:
            print(f"grader: {exc.message}", file=sys.stderr)
            return 1
        except (OperationalError, ProgrammingError) as exc:
            print(f"grader: the database {engine.url.render_as_string(hide_password=True)} cannot be used "
                  f"({str(exc.orig).strip().splitlines()[0] if exc.orig else exc}); is it running, and did "
                  "`grader db upgrade` run?", file=sys.stderr)
            return 1
        finally:
            engine.dispose()

    return run


def _embedded_database(url: str) -> None:
    """Create or upgrade the embedded SQLite file; say so when this command made a new one (and where)."""
    from sqlalchemy.engine import make_url

    from grader.service import migrate

    path = make_url(url).database or ""
    new = path not in ("", ":memory:") and not Path(path).exists()
    migrate.upgrade_if_needed(url)  # embedded: nothing to set up by hand
    if new:
        print(f"grader: created a new database {Path(path).resolve()} (GRADER_DATABASE_URL names another; commands "
              "run in another folder use that folder's grader.db)", file=sys.stderr)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from grader.service.api.main import create_app

    settings = Settings()
    if settings.database_url.startswith("sqlite"):
        _embedded_database(settings.database_url)
    host = args.host or settings.host
    port = args.port or settings.port
    mode = "embedded (grading in this process)" if settings.embedded else "distributed (grading by workers)"
    print(f"grader: serving on http://{host}:{port} ({mode}); API description at /openapi.json", file=sys.stderr)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    return 0


def _worker(args: argparse.Namespace) -> int:
    import os

    settings = Settings()
    if settings.embedded:
        print("grader: GRADER_BROKER_URL is not set; the embedded setup needs no worker (`grader serve` grades "
              "in its own process)", file=sys.stderr)
        return 1
    from workers.app import app

    if args.ping:
        return _ping(app, settings.worker_name, args.timeout)
    name = settings.worker_name or f"grader-{os.getpid()}@%h"
    argv = ["worker", f"--loglevel={args.loglevel.upper()}", f"--hostname={name}",
            "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if args.concurrency:
        argv.append(f"--concurrency={args.concurrency}")
    app.worker_main(argv)
    return 0


def _ping(app: Celery, name: str, timeout: float) -> int:
    from celery.utils.nodenames import host_format

    destination = [host_format(name)] if name else None
    try:
        replies = app.control.ping(destination=destination, timeout=timeout)
    except Exception as exc:  # the broker is unreachable: the worker is not healthy either
        print(f"grader: no answer: the broker cannot be reached ({exc})", file=sys.stderr)
        return 1
    answered = sorted(node for reply in replies or [] for node in reply)
    if not answered:
        print(f"grader: no answer from {destination[0] if destination else 'any worker'} within {timeout:g} s",
              file=sys.stderr)
        return 1
    print(f"grader: {', '.join(answered)} answered")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from grader.service import migrate

    settings = Settings()
    deadline = time.monotonic() + args.wait
    while True:
        try:
            migrate.upgrade(settings.database_url, args.revision)
            break
        except OperationalError as exc:
            if time.monotonic() >= deadline:
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
                print(f"grader: the database cannot be reached ({reason})" +
                      (f"; gave up after {args.wait:g} s" if args.wait else ""), file=sys.stderr)
                return 1
            print("grader: waiting for the database to accept connections", file=sys.stderr)
            time.sleep(2)
    print(f"grader: database at revision {args.revision}", file=sys.stderr)
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    from grader.service import migrate

    settings = Settings()
    migrate.downgrade(settings.database_url, args.revision)
    print(f"grader: database at revision {args.revision}", file=sys.stderr)
    return 0


@_reported
def _user_add(args: argparse.Namespace, _settings: Settings, factory: sessionmaker[Session]) -> int:
    from grader.service.store.users import create_user

    with factory() as session:
        user, token = create_user(session, name=args.name, role=Role(args.role))
        session.commit()
    print(token)
    print(f"grader: added {user.role.value} {user.name}; the token above is shown only once", file=sys.stderr)
    return 0


@_reported
def _user_import(args: argparse.Namespace, _settings: Settings, factory: sessionmaker[Session]) -> int:
    from grader.service.roster import RosterError, decode_roster, read_roster
    from grader.service.store.sets import enrol, require_set
    from grader.service.store.users import import_roster
    from grader.service.tokens_file import TokensFile

    path = Path(args.roster)
    try:
        entries = read_roster(decode_roster(path.read_bytes(), str(path)), str(path))
    except OSError as exc:
        raise Invalid(f"cannot read the roster {path}: {exc.strerror or exc}") from None
    except RosterError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 1
    target = Path(args.tokens) if args.tokens else path.with_name(path.stem + ".tokens.csv")
    with factory() as session:
        sets = [require_set(session, name=name) for name in args.enrol]
        with TokensFile(target) as tokens:  # written (mode 600) before the commit; removed if the import fails
            report = import_roster(session, entries, new_tokens=args.new_tokens)
            students = [u for u in report.users if u.role is Role.STUDENT]
            enrolled = [enrol(session, problem_set=s, students=students) for s in sets]
            tokens.write((u.name, token) for u, token in report.tokens)
            session.commit()
    print(f"{path}: {len(report.created)} user(s) added, {len(report.updated)} updated, "
          f"{len(report.unchanged)} unchanged" + "".join(f"; {s.name}: {n} newly enrolled" for s, n in
                                                        zip(sets, enrolled, strict=True)))
    if report.tokens:
        print(f"{len(report.tokens)} new token(s) written to {target} (readable only by you); hand each "
              "user their own")
    else:
        print("no new tokens (existing users keep theirs; --new-tokens gives them new ones)")
    return 0


@_reported
def _user_token(args: argparse.Namespace, _settings: Settings, factory: sessionmaker[Session]) -> int:
    from grader.service.store.users import renew_token

    with factory() as session:
        token = renew_token(session, name=args.name)
        session.commit()
    print(token)
    return 0


def _owner(session: Session, name: str | None, set_name: str) -> User:
    from grader.service.store.sets import get_set
    from grader.service.store.users import get_user, instructors

    existing = get_set(session, name=set_name)
    if name is None and existing is not None:
        owner = session.get(User, existing.owner_id)
        assert owner is not None
        return owner
    if name is not None:
        user = get_user(session, name=name)
        if user is None:
            raise NotFound(f"no user {name!r}")
        return user
    found = instructors(session)
    if len(found) != 1:
        raise Invalid("say which instructor owns the set with --instructor NAME" if found else
                      "there is no instructor yet: add one with `grader user add NAME --role instructor`")
    return found[0]


@_reported
def _upload(args: argparse.Namespace, settings: Settings, factory: sessionmaker[Session]) -> int:
    from grader.problemset.source import ProblemSetError
    from grader.service.setload import load_summary
    from grader.service.store.sets import upload_set

    path = Path(args.problem_set)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemSetError(f"cannot read the file: {exc}", file=str(path)) from None
    # a broken file stops here, before the database is touched; loaded within the server's bounds
    loaded = load_summary(text, str(path), settings.set_load_limits)
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    with factory() as session:
        owner = _owner(session, args.instructor, loaded.id)
        upload = upload_set(session, owner=owner, text=text, file=str(path), loaded=loaded)
        session.commit()
        what = "new set" if upload.created else ("new version" if upload.changed else "unchanged")
        print(f"{loaded.id}: version {upload.version.number} ({what}; {len(loaded.problems)} problems, "
              f"{loaded.max_score:g} points, owner {owner.name})")
    return 0


@_reported
def _enrol(args: argparse.Namespace, _settings: Settings, factory: sessionmaker[Session]) -> int:
    from grader.service.store.sets import enrol_names, require_set

    with factory() as session:
        problem_set = require_set(session, name=args.set_id)
        outcomes = enrol_names(session, problem_set=problem_set, names=args.students)
        session.commit()
    for outcome in outcomes:
        print(f"{outcome.name}: {outcome.outcome}" + (f" ({outcome.detail})" if outcome.detail else ""),
              file=sys.stderr if not outcome.ok else sys.stdout)
    added = sum(o.outcome == "enrolled" for o in outcomes)
    refused = sum(not o.ok for o in outcomes)
    print(f"{args.set_id}: enrolled {added} new student(s)" + (f"; {refused} name(s) not enrolled" if refused else ""))
    return 0 if refused == 0 else 1


@_reported
def _regrade(args: argparse.Namespace, settings: Settings, factory: sessionmaker[Session]) -> int:
    from grader.service.api.main import make_dispatcher
    from grader.service.dispatch import InProcessDispatcher
    from grader.service.store.jobs import start_regrade
    from grader.service.store.sets import require_set

    with factory() as session:
        problem_set = require_set(session, name=args.set_id)
        job, created = start_regrade(session, problem_set=problem_set, user=None, mode=args.mode)
        version = session.get(SetVersion, job.set_version_id)
        assert version is not None
        number = version.number
        if created and job.finished_at is not None:
            session.rollback()  # nothing to do: no job is recorded for it
        else:
            session.commit()
    before = job.done + job.failed  # graded against this version before the regrade began
    if job.total == 0:
        print(f"{args.set_id}: nothing to regrade: the set has no submissions yet")
        return 0
    if job.finished_at is not None:
        print(f"{args.set_id}: nothing to regrade: all {job.total} submission(s) are already graded against "
              f"version {number}")
        return 0
    dispatcher = make_dispatcher(settings, factory)
    local = dispatcher if isinstance(dispatcher, InProcessDispatcher) else None
    embedded = local is not None
    if local is not None:
        local.start()
    if (created or embedded) and not dispatcher.regrade(job.id):
        print("grader: the broker is not reachable; the workers' sweep will start the regrade",
              file=sys.stderr)
    print(f"{args.set_id}: regrade {job.id} against version {number}: {job.pending} of {job.total} "
          "submission(s) to grade" + ("" if created else " (already running)"), file=sys.stderr)
    if args.no_wait and not embedded:
        return 0
    job = _follow(factory, job.id, before)
    if local is not None:
        local.stop()
    now_done = job.done + job.failed - before
    print(f"{args.set_id}: {now_done} graded now ({job.failed} failed), {before} already graded against version "
          f"{number}, {job.pending} pending")
    return 0 if job.failed == 0 else 2


def _follow(factory: sessionmaker[Session], job_id: int, before: int) -> RegradeJob:
    """Show a progress bar until the job is finished."""
    tty = sys.stderr.isatty()
    start = time.monotonic()
    last_line = 0.0
    while True:
        with factory() as session:
            job = session.get(RegradeJob, job_id)
            assert job is not None
        finished = job.finished_at is not None
        now = time.monotonic()
        if tty or finished or now - last_line >= 5:
            print(("\r" if tty else "") + _bar(job, now - start, before), end="" if tty and not finished else "\n",
                  file=sys.stderr, flush=True)
            last_line = now
        if finished:
            return job
        time.sleep(0.2)


def _bar(job: RegradeJob, elapsed: float, before: int = 0, width: int = 30) -> str:
    total = max(job.total, 1)
    filled = int(width * (job.done + job.failed) / total)
    rate = (job.done + job.failed - before) / elapsed if elapsed > 0 else 0.0  # only what this run graded
    return (f"[{'#' * filled}{'.' * (width - filled)}] {job.done + job.failed}/{job.total} "
            f"({job.failed} failed) {rate:,.0f}/s {elapsed:.1f}s")


@_reported
def _export(args: argparse.Namespace, _settings: Settings, factory: sessionmaker[Session]) -> int:
    from grader.service.export import grades_csv
    from grader.service.store.sets import require_set

    with factory() as session:
        problem_set = require_set(session, name=args.set_id)
        text = grades_csv(session, problem_set=problem_set)
    if args.csv == "-":
        sys.stdout.write(text)
    else:
        Path(args.csv).write_text(text, encoding="utf-8", newline="")
        print(f"{args.set_id}: wrote {text.count(chr(10)) - 1} student row(s) to {args.csv}", file=sys.stderr)
    return 0
