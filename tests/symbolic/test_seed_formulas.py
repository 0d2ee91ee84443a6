"""The seed submissions' formula answers (``seed_formulas.yaml``) get the verdicts and mistakes recorded there."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.grading.answers import read_answers
from grader.grading.grade import grade
from grader.problemset.loader import load_problem_set_file
from grader.problemset.model import ExpressionProblem, ProblemSet
from grader.symbolic.grade import grade_expression

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
ROWS: list[dict[str, Any]] = yaml.safe_load((HERE / "seed_formulas.yaml").read_text(encoding="utf-8"))
SINGLE = [r for r in ROWS if "answer" in r]
CHAINS = [r for r in ROWS if "chain" in r]


@cache
def problem_set(name: str) -> ProblemSet:
    path = ROOT / "problems" / f"{name}.yaml"
    return load_problem_set_file(path if path.exists() else HERE / f"{name}.yaml")


def test_the_table_covers_both_seeds() -> None:
    assert {r["seed"] for r in SINGLE} == {"000", "003"}
    assert len(SINGLE) >= 30 and len(CHAINS) >= 4
    assert any(v == "follow_through" for r in CHAINS for v in r["verdicts"].values())


@pytest.mark.parametrize("row", SINGLE, ids=[f"{r['seed']}:{r['problem']}:{r['answer'][:40]}" for r in SINGLE])
def test_seed_formula(row: dict[str, Any]) -> None:
    problem = problem_set(row.get("set", "seed-problems")).problem(row["problem"])
    assert isinstance(problem, ExpressionProblem)
    part = grade_expression(problem, row["answer"])
    assert (part.verdict.value, part.misconception) == (row["verdict"], row["misconception"]), part.feedback


@pytest.mark.parametrize("row", CHAINS, ids=[" | ".join(r["chain"].values())[:60] for r in CHAINS])
def test_seed_chain(row: dict[str, Any]) -> None:
    ps = problem_set("seed-problems")
    text = json.dumps({"problem_set": ps.id, "student": "seed" + row["seed"], "answers": row["chain"]})
    parts = {p.id: p.parts[0] for p in grade(ps, read_answers(text)).problems if p.id in row["chain"]}
    assert {q: p.verdict.value for q, p in parts.items()} == row["verdicts"], {q: p.feedback for q, p in parts.items()}
    expected = row.get("misconceptions", {})
    assert {q: p.misconception for q, p in parts.items() if p.misconception} == expected
