"""The container setup: docker-compose.yml, the Dockerfile, .env.example and constraints.txt.

Docker's engine is not needed: the file's structure is checked here, and `docker compose config` runs
too where the compose plugin is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
LONG_RUNNING = ("postgres", "redis", "api", "worker")


def _seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([smh])", duration))


def _command(value: Any) -> str:
    return value if isinstance(value, str) else " ".join(value)


def test_the_services_and_their_restart_policies() -> None:
    assert set(SERVICES) == {"postgres", "redis", "migrate", "api", "worker"}
    for name in LONG_RUNNING:
        assert SERVICES[name]["restart"] in ("unless-stopped", "always"), name
    assert SERVICES["migrate"]["restart"] == "no"  # a one-shot job: it retries by itself


def test_every_long_running_service_has_a_healthcheck_that_asks_it() -> None:
    for name in LONG_RUNNING:
        assert SERVICES[name]["healthcheck"]["test"], name
    assert "grader worker --ping" in _command(SERVICES["worker"]["healthcheck"]["test"])
    assert SERVICES["worker"]["environment"]["GRADER_WORKER_NAME"] == "grader@%h"
    assert "/health" in _command(SERVICES["api"]["healthcheck"]["test"])
    # over TCP, so the image's socket-only init server is not taken for the real one
    assert "pg_isready -h 127.0.0.1" in _command(SERVICES["postgres"]["healthcheck"]["test"])


def test_migrations_retry_and_everything_waits_for_them() -> None:
    command = _command(SERVICES["migrate"]["command"])
    assert command.startswith("grader db upgrade --wait ") and float(command.split()[-1]) >= 60
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_a_stopping_worker_may_finish_its_longest_task() -> None:
    grace = _seconds(SERVICES["worker"]["stop_grace_period"])
    limits = Settings()
    assert grace > limits.chunk_time_limit and grace > limits.task_time_limit


def test_credentials_and_ports_come_from_the_env_file_without_defaults() -> None:
    used = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE_TEXT))
    assert {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "GRADER_PUBLISHED_PORT"} <= used
    assert not re.search(r"\$\{[A-Z_]+:?-", COMPOSE_TEXT), "no variable may have a default baked in"
    assert "${GRADER_DATABASE_URL" not in COMPOSE_TEXT and "${GRADER_BROKER_URL" not in COMPOSE_TEXT
    example = (ROOT / ".env.example").read_text()
    assert used <= set(re.findall(r"^([A-Z_]+)=", example, re.M))
    assert re.search(r"^POSTGRES_PASSWORD=$", example, re.M), "the example holds no password"
    assert "POSTGRES_PASSWORD: grader" not in COMPOSE_TEXT
    for name in ("migrate", "api", "worker"):
        env = SERVICES[name]["environment"]
        assert "${POSTGRES_PASSWORD" in env["GRADER_DATABASE_URL"]


def test_images_and_dependencies_are_pinned() -> None:
    for name in ("postgres", "redis"):
        image = SERVICES[name]["image"]
        assert re.fullmatch(r"[a-z]+:\d+\.\d+(\.\d+)?", image), image
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "-c constraints.txt" in dockerfile and "COPY constraints.txt" in dockerfile
    assert "-e ." not in dockerfile  # a plain install: the migrations are in the package
    assert not re.search(r"^ENV .*(PASSWORD|DATABASE_URL|BROKER_URL)", dockerfile, re.M)
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pinned[re.sub(r"[-_.]+", "-", name).lower()] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name = re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~ ]", requirement, maxsplit=1)[0]).lower()
        assert name in pinned, f"{name} is not pinned in constraints.txt"


def test_the_readme_says_how_to_create_the_first_instructor() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docker compose run --rm api grader user add" in readme
    assert "cp .env.example .env" in readme


@pytest.mark.skipif(shutil.which("docker") is None, reason="docker is not installed")
def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    env = tmp_path / ".env"
    env.write_text((ROOT / ".env.example").read_text().replace("POSTGRES_PASSWORD=", "POSTGRES_PASSWORD=x1"))
    done = subprocess.run(["docker", "compose", "--project-directory", str(ROOT), "--env-file", str(env),
                           "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
