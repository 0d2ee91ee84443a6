"""Builders shared by the tests: problem sets from plain dicts, graded answers, parts by name.

Import them rootdir-relative: ``from tests.conftest import make_network_set``.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so ``tests.conftest`` imports under a bare ``pytest`` too
    sys.path.insert(0, str(ROOT))

# The suite never uses the service a user's shell points at (their database, their broker): every test
# that needs one makes its own. GRADER_TEST_* settings are the suite's own and stay.
for _name in [n for n in os.environ if n.startswith("GRADER_") and not n.startswith("GRADER_TEST_")]:
    del os.environ[_name]

from grader.grading.answers import read_answers  # noqa: E402
from grader.grading.grade import grade  # noqa: E402
from grader.grading.result import GradeResult, PartResult  # noqa: E402
from grader.problemset.loader import load_problem_set  # noqa: E402
from grader.problemset.model import NetworkProblem, ProblemSet  # noqa: E402

PROBLEMS = ROOT / "problems"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport() -> Iterator[None]:
    """Let a failing property test be reported: hypothesis then imports libcst, which warns on import."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield

#: Bounded, reproducible property tests.
FAST = settings(deadline=None, max_examples=25, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

#: The worked example of SPEC section 2, problem q1.
SPEC_Q1: dict[str, Any] = {
    "id": "q1",
    "kind": "network",
    "given": {"x1": 1.0, "x2": -2.0, "y": 1.0},
    "params": {"w1": 0.5, "w2": -0.3, "w3": 0.8, "w4": 0.2, "w5": 1.0, "w6": -1.5,
               "b1": 0.1, "b2": -0.1, "b3": 0.05},
    "forward": {
        "z1": "w1*x1 + w2*x2 + b1",
        "z2": "w3*x1 + w4*x2 + b2",
        "h1": "tanh(z1)",
        "h2": "tanh(z2)",
        "z3": "w5*h1 + w6*h2 + b3",
        "p": "sigmoid(z3)",
        "L": "-(y*log(p) + (1 - y)*log(1 - p))",
    },
    "loss": "L",
    "learning_rate": 0.1,
    "ask": ["z1", "z2", "h1", "h2", "z3", "p", "L", "dL/dz3", "dL/dw1", "dL/dw5", "dL/db3",
            "next.w1", "next.w5", "next.L"],
    "tolerance": {"rtol": 0.01, "atol": 0.0005},
}

#: The canonical values SPEC section 1 lists for it.
SPEC_VALUES: dict[str, float] = {
    "z1": 1.2, "z2": 0.3, "h1": 0.833655, "h2": 0.291313, "z3": 0.446686, "p": 0.609851, "L": 0.494541,
    "dL/dw1": -0.119003, "dL/dw2": 0.238007, "dL/dw3": 0.535560, "dL/dw4": -1.071119,
    "dL/dw5": -0.325250, "dL/dw6": -0.113655, "dL/db1": -0.119003, "dL/db2": 0.535560,
    "dL/db3": -0.390149,
}


def make_problem(forward: dict[str, str], *, given: dict[str, Any] | None = None,
                 params: dict[str, Any] | None = None, loss: str = "L", pid: str = "q1",
                 **fields: Any) -> dict[str, Any]:
    """A network problem as the dict a YAML file would hold."""
    return {"id": pid, "kind": "network", "given": dict(given or {}), "params": dict(params or {}),
            "forward": dict(forward), "loss": loss, **fields}


def make_network_set(*problems: dict[str, Any], set_id: str = "t-set", **fields: Any) -> str:
    """The YAML text of a problem set holding ``problems``."""
    return yaml.safe_dump({"id": set_id, **fields, "problems": list(problems)}, sort_keys=False,
                          allow_unicode=True)


def load_set(*problems: dict[str, Any], set_id: str = "t-set", **fields: Any) -> ProblemSet:
    return load_problem_set(make_network_set(*problems, set_id=set_id, **fields), "t.yaml")


def load_problem(problem: dict[str, Any], **set_fields: Any) -> NetworkProblem:
    p = load_set(problem, **set_fields).problems[0]
    assert isinstance(p, NetworkProblem)
    return p


def grade_answers(ps: ProblemSet, answers: dict[str, Any], student: str = "s1") -> GradeResult:
    """Grade ``answers`` (problem id -> submitted) for ``student``, through the answers-file reader."""
    text = yaml.safe_dump({"problem_set": ps.id, "student": student, "answers": answers}, allow_unicode=True)
    return grade(ps, read_answers(text, "answers.yaml"))


def parts(result: GradeResult, problem: str = "q1") -> dict[str, PartResult]:
    """The graded parts of one problem, by quantity."""
    for p in result.problems:
        if p.id == problem:
            return {part.quantity: part for part in p.parts}
    raise KeyError(problem)


def run_cli(capsys: Any, monkeypatch: Any, *argv: str) -> tuple[int, str, str]:
    """Run ``grader`` in this process: (exit code, stdout, stderr).

    ``grader.report.write`` binds ``sys.stdout`` when it is imported, so output printed through it
    escapes pytest's capture (and ``contextlib.redirect_stdout``); it is routed to the current
    ``sys.stdout`` here. tests/test_cli.py checks that binding separately.
    """
    import grader.cli

    monkeypatch.setattr(grader.cli, "write", lambda text: sys.stdout.write(text + "\n"))
    code = grader.cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err
