"""Benchmark the distributed setup: batch regrade throughput, the one-task-per-submission baseline, and
submit-to-stored-grade latency through the HTTP API.

Runs in a database of its own inside this machine's PostgreSQL server (dropped afterwards) and a
``redis-server`` of its own on a free port (the machine's Redis is never touched), with real
``grader worker`` processes and a real ``grader serve``::

    python bench/bench_regrade.py                      # 100,000 submissions, two workers
    python bench/bench_regrade.py --submissions 20000 --latency-samples 100

It prints figures; it asserts nothing about them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from grader.grading.answers import read_answers
from grader.service import migrate
from grader.service.db import make_engine, make_sessionmaker
from grader.service.dispatch import CeleryDispatcher
from grader.service.models import Enrolment, Grade, ProblemSet, RegradeJob, Role, Submission
from grader.service.settings import Settings
from grader.service.store.jobs import start_regrade
from grader.service.store.sets import upload_set
from grader.service.store.submissions import parsed_form
from grader.service.store.users import create_user
from workers.app import make_celery

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.services import postgres_database, private_redis  # noqa: E402

STUDENTS = 1000


def bench_set() -> tuple[str, dict[str, float]]:
    """The network problem of the SPEC's worked example (problems/dl-hw2.yaml, q1), and its answers."""
    data = yaml.safe_load((ROOT / "problems" / "dl-hw2.yaml").read_text())
    data["id"] = "bench-net"
    data["problems"] = [p for p in data["problems"] if p["kind"] == "network"]
    answers = yaml.safe_load((ROOT / "problems" / "dl-hw2.answers.yaml").read_text())["answers"]["q1"]
    return yaml.safe_dump(data, sort_keys=False), answers


def store_submissions(factory: sessionmaker[Session], text: str, answers: dict[str, float], count: int) -> int:
    """The set, STUDENTS students, and ``count`` submissions with varied answers, inserted in bulk."""
    rng = random.Random(1)
    with factory() as session:
        prof, _ = create_user(session, name="prof", role=Role.INSTRUCTOR)
        upload = upload_set(session, owner=prof, text=text, file="bench-net.yaml")
        students = [create_user(session, name=f"s{i:04d}", role=Role.STUDENT)[0] for i in range(STUDENTS)]
        session.execute(insert(Enrolment), [{"problem_set_id": upload.problem_set.id, "user_id": s.id}
                                            for s in students])
        session.commit()
        set_id, version_id = upload.problem_set.id, upload.version.id
        batch: list[dict[str, object]] = []
        parsed_cache: dict[str, dict[str, object] | None] = {}
        for i in range(count):
            student = students[i % STUDENTS]
            # Students round to 2-4 decimals; one in ten also gets one value wrong (a slip the grader searches).
            digits = rng.choice((2, 3, 4))
            mine = {k: round(v, digits) for k, v in answers.items()}
            if rng.random() < 0.1:
                slip = rng.choice(sorted(mine))
                mine[slip] = round(mine[slip] * 1.3 + 0.01, digits)
            key = yaml.safe_dump({"q1": mine})
            body = f"problem_set: bench-net\nstudent: {student.name}\nanswers:\n" + "".join(
                f"  {line}\n" for line in key.splitlines())
            if key not in parsed_cache:
                parsed_cache[key] = parsed_form(read_answers(body, "bench"))
            parsed = parsed_cache[key]
            batch.append({"problem_set_id": set_id, "student_id": student.id, "set_version_id": version_id,
                          "answers": body, "parsed": None if parsed is None else {**parsed, "student": student.name}})
            if len(batch) == 5000:
                session.execute(insert(Submission), batch)
                session.commit()
                batch.clear()
        if batch:
            session.execute(insert(Submission), batch)
            session.commit()
    return set_id


def start_workers(env: dict[str, str], count: int, logs: Path) -> list[subprocess.Popen[bytes]]:
    workers = []
    for i in range(count):
        log = logs / f"worker-{i}.log"
        with log.open("wb") as out:
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "grader.cli", "worker", "--concurrency=1", "--loglevel=warning"],
                env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
    time.sleep(3)  # no "ready" line at warning level: give them a moment to connect
    return workers


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for p in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def regrade(factory: sessionmaker[Session], dispatcher: CeleryDispatcher, set_id: int, mode: str) -> tuple[int, float]:
    with factory() as session:
        problem_set = session.get(ProblemSet, set_id)
        assert problem_set is not None
        job, _ = start_regrade(session, problem_set=problem_set, user=None, mode=mode)
        session.commit()
    start = time.perf_counter()
    assert dispatcher.regrade(job.id), "the broker is not reachable"
    while True:
        time.sleep(0.1)
        with factory() as session:
            current = session.get(RegradeJob, job.id)
            assert current is not None
            if current.finished_at is not None:
                return current.done + current.failed, time.perf_counter() - start


def new_version(factory: sessionmaker[Session], text: str, n: int) -> None:
    with factory() as session:
        from grader.service.store.users import get_user

        prof = get_user(session, name="prof")
        assert prof is not None
        upload_set(session, owner=prof, text=text + f"\n# version {n}\n", file="bench-net.yaml")
        session.commit()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def latency(factory: sessionmaker[Session], env: dict[str, str], answers: dict[str, float], samples: int,
            logs: Path) -> list[float]:
    """Submit through the API one at a time; time from sending to the grade being stored, in ms."""
    import httpx

    with factory() as session:
        _, token = create_user(session, name="lat", role=Role.STUDENT)
        problem_set = session.scalar(select(ProblemSet))
        assert problem_set is not None
        student = session.scalar(select(Enrolment).limit(1))
        assert student is not None
        from grader.service.store.users import get_user

        lat = get_user(session, name="lat")
        assert lat is not None
        session.add(Enrolment(problem_set_id=problem_set.id, user_id=lat.id))
        session.commit()
    port = free_port()
    with (logs / "serve.log").open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "grader.cli", "serve", "--port", str(port)],
                                  env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    results: list[float] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("grader serve did not start")
                time.sleep(0.1)
            body = yaml.safe_dump({"problem_set": "bench-net", "student": "lat", "answers": {"q1": answers}})
            for i in range(samples + 5):
                sent = datetime.now(UTC).replace(tzinfo=None)
                response = client.post("/api/v1/sets/bench-net/submissions", content=body)
                if response.status_code != 202:
                    tail = (logs / "serve.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"submission refused: {response.text}\n{tail}")
                sid = response.json()["id"]
                while True:
                    with factory() as session:
                        graded_at = session.scalar(select(Grade.graded_at).where(Grade.submission_id == sid))
                    if graded_at is not None:
                        break
                    time.sleep(0.002)
                if i >= 5:  # the first few warm the caches
                    results.append((graded_at - sent).total_seconds() * 1000)
                time.sleep(0.05)  # the worker is idle when the next one arrives
    finally:
        stop([server])
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    text, answers = bench_set()
    with private_redis() as redis_server, postgres_database("grader_bench") as url, \
            tempfile.TemporaryDirectory() as tmp:
        broker = redis_server.url(0)
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        t0 = time.perf_counter()
        set_id = store_submissions(factory, text, answers, args.submissions)
        print(f"stored {args.submissions:,} submissions in {time.perf_counter() - t0:.1f} s")
        # The sweep would grade them one by one against their own version: keep it out of the measurement.
        env = {"GRADER_DATABASE_URL": url, "GRADER_BROKER_URL": broker, "GRADER_SWEEP_AGE": "100000",
               "GRADER_SWEEP_INTERVAL": "3600"}
        workers = start_workers(env, args.workers, Path(tmp))
        dispatcher = CeleryDispatcher(make_celery(Settings(database_url=url, broker_url=broker)))
        try:
            new_version(factory, text, 2)
            done, seconds = regrade(factory, dispatcher, set_id, "batch")
            batch_rate = done / seconds
            print(f"batch regrade:      {done:,} submissions in {seconds:.1f} s = {batch_rate:,.0f} submissions/s "
                  f"({args.workers} worker processes, chunks of {Settings().chunk_size})")
            if not args.skip_baseline:
                new_version(factory, text, 3)
                done, seconds = regrade(factory, dispatcher, set_id, "single")
                single_rate = done / seconds
                print(f"one task each:      {done:,} submissions in {seconds:.1f} s = {single_rate:,.0f} "
                      f"submissions/s (baseline)")
                print(f"batch / baseline:   {batch_rate / single_rate:.1f}x")
            samples = latency(factory, env, answers, args.latency_samples, Path(tmp))
            samples.sort()
            p95 = samples[min(len(samples) - 1, round(0.95 * len(samples)) - 1)]
            print(f"submit -> stored grade through the API, idle workers ({len(samples)} samples): "
                  f"p50 {statistics.median(samples):.1f} ms, p95 {p95:.1f} ms, max {samples[-1]:.1f} ms")
        finally:
            stop(workers)
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
