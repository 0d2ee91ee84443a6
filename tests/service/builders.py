"""Small builders for the service tests: users with tokens, problem sets, answers files.

Import rootdir-relative: ``from tests.service.builders import TINY_SET``.
"""

from __future__ import annotations

from typing import Any

import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from grader.service.models import Role
from grader.service.store.users import create_user

#: Two small network problems; q1 is worth 4 points, q2 2.
TINY_SET = """\
id: tiny-net
title: A tiny network
problems:
  - id: q1
    kind: network
    title: One sigmoid neuron
    statement: Compute the forward pass and one gradient.
    given: {x: 2.0, y: 1.0}
    params: {w: 0.5, b: 0.1}
    forward:
      z: w*x + b
      p: sigmoid(z)
      L: 0.5*(p - y)^2
    loss: L
    learning_rate: 0.1
    ask: [z, p, L, dL/dw]
  - id: q2
    kind: network
    title: A ReLU unit
    given: {x: -1.0}
    params: {w: 2.0}
    forward:
      z: w*x
      h: relu(z)
      L: h^2
    loss: L
    ask: [z, h]
"""

#: The correct answers to TINY_SET.
TINY_ANSWERS: dict[str, dict[str, float]] = {
    "q1": {"z": 1.1, "p": 0.750260, "L": 0.031185, "dL/dw": -0.0935875},
    "q2": {"z": -2.0, "h": 0.0},
}

#: TINY_SET with q2 worth 3 points per quantity: a changed file, so a new version.
TINY_SET_V2 = TINY_SET.replace("    ask: [z, h]\n", "    ask: [z, h]\n    points: 3\n")


def answers_text(student: str, answers: dict[str, Any] | None = None, problem_set: str = "tiny-net") -> str:
    return yaml.safe_dump({"problem_set": problem_set, "student": student,
                           "answers": TINY_ANSWERS if answers is None else answers}, sort_keys=False)


def add_user(factory: sessionmaker[Session], name: str, role: str) -> str:
    """Add a user directly in the database; return their token."""
    with factory() as session:
        _, token = create_user(session, name=name, role=Role(role))
        session.commit()
    return token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(client: TestClient, token: str, text: str = TINY_SET) -> dict[str, Any]:
    response = client.post("/api/v1/sets", content=text, headers=auth(token))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def enrol(client: TestClient, token: str, set_id: str, *students: str) -> None:
    response = client.post(f"/api/v1/sets/{set_id}/students", json={"students": list(students)}, headers=auth(token))
    assert response.status_code == 200, response.text
